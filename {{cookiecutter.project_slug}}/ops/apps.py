from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Health and readiness probes, metrics, the drain, the edge server, logs and checks."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "ops"

    def ready(self):
        from ops import checks  # noqa: F401  (registers the system checks)
