from django.apps import AppConfig


class RoomsConfig(AppConfig):
    """Private rooms, direct conversations, saved messages, memberships and moderation."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "rooms"
