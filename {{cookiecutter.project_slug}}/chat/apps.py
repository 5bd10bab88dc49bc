from django.apps import AppConfig


class ChatConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chat"

    def ready(self):
        # A CHAT_ROOMS_BACKEND or CHAT_STORES that names a module the core cannot use stops
        # the server now, with why: rooms_backend checks its modules as it imports them.
        from chat import rooms_backend, session_watch, stores  # noqa: F401

        stores.check_configuration()
        session_watch.connect_signals()
