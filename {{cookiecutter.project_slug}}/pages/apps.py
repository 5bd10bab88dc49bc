from django.apps import AppConfig


class PagesConfig(AppConfig):
    """The lobby and room pages and the browser client they serve."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "pages"
