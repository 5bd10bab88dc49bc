from django.contrib import admin, messages

from chat import api_tokens
from chat.models import ApiToken, Message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["created", "room", "display_name", "text", "edited_at", "deleted"]
    list_filter = ["created", "deleted"]
    search_fields = ["room", "display_name", "text"]
    raw_id_fields = ["user"]
    date_hierarchy = "created"
    # Deleted in the chat, where the room sees it go and the text is emptied.
    readonly_fields = ["text", "edited_at", "deleted"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made here with a name and a user; the key is shown once, on saving."""

    list_display = ["prefix", "name", "user", "created", "last_used"]
    search_fields = ["name", "user__username", "prefix"]
    raw_id_fields = ["user"]
    fields = ["user", "name", "prefix", "created", "last_used"]
    readonly_fields = ["prefix", "created", "last_used"]

    def has_change_permission(self, request, obj=None):
        # A token is made or revoked (deleted), never moved to another user.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        key = api_tokens.give_key(obj)
        super().save_model(request, obj, form, change)
        self.message_user(
            request, f"The key of {obj.name!r}, shown only now: {key}", level=messages.WARNING
        )
