from django.contrib import admin, messages
from django.contrib.auth import get_user_model

from chat import api_tokens
from chat.models import ApiToken, Membership, Message, ModerationAction, Room


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["created", "room", "display_name", "text", "edited_at", "deleted"]
    list_filter = ["created", "deleted"]
    search_fields = ["room", "display_name", "text"]
    raw_id_fields = ["user"]
    date_hierarchy = "created"
    # Deleted in the chat, where the room sees it go and the text is emptied.
    # Deleted in the chat, where the room sees it go and the text is emptied; and kept in
    # its room, which may be private.
    readonly_fields = ["room", "text", "edited_at", "deleted"]


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

    def get_queryset(self, request):
        tokens = super().get_queryset(request)
        return tokens if request.user.is_superuser else tokens.filter(user=request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A token acts as its user, private rooms and all: staff make tokens for
        # themselves, superusers for anyone.
        if db_field.name == "user" and not request.user.is_superuser:
            kwargs["queryset"] = get_user_model().objects.filter(pk=request.user.pk)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        key = api_tokens.give_key(obj)
        super().save_model(request, obj, form, change)
        self.message_user(
            request, f"The key of {obj.name!r}, shown only now: {key}", level=messages.WARNING
        )


class MembershipInline(admin.TabularInline):
    model = Membership
    raw_id_fields = ["user"]
    fields = ["user", "role", "banned", "muted_until", "last_read_id", "joined"]
    readonly_fields = ["last_read_id", "joined"]
    extra = 0


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    """Private rooms and direct conversations. Members changed here do not close open
    sockets: remove and ban members on the room's members page, where they do."""

    list_display = ["name", "pair", "created_by", "created"]
    search_fields = ["name", "memberships__user__username"]
    raw_id_fields = ["created_by"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        # Messages belong to a room by its name: a private room renamed, or deleted, would
        # leave its history to whoever opens the old name as a public room.
        return ["name", "pair", "created"] if obj else ["pair", "created"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    """Who did what to whom, and when: a record, not to be changed."""

    list_display = ["created", "room", "actor", "action", "target", "detail"]
    list_filter = ["action", "created"]
    search_fields = ["room__name", "actor__username", "target__username"]
    date_hierarchy = "created"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
