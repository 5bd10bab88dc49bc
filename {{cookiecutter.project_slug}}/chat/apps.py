from django.apps import AppConfig


class ChatConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chat"

    def ready(self):
        from chat import checks, session_watch  # noqa: F401  (checks registers the system checks)

        session_watch.connect_signals()
