from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The HTTP API and the tokens that open it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
