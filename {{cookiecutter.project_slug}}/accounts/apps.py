from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Sign-up, login, password resets and names."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
