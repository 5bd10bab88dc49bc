from django.apps import AppConfig


class ChatConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chat"

    def ready(self):
        from chat import rooms_backend, session_watch, stores  # noqa: F401  (rooms_backend checks CHAT_ROOMS_BACKEND)

        stores.check_configuration()
        session_watch.connect_signals()
