from django.contrib import admin

from rooms import membership
from rooms.models import Membership, Message, ModerationAction, Room


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["created", "room", "display_name", "text", "edited_at", "deleted"]
    list_filter = ["created", "deleted"]
    search_fields = ["room", "display_name", "text"]
    raw_id_fields = ["user"]
    date_hierarchy = "created"
    # Deleted in the chat, where the room sees it go and the text is emptied; and kept in
    # its room, which may be private.
    readonly_fields = ["room", "text", "edited_at", "deleted", "reply_to"]

    def has_delete_permission(self, request, obj=None):
        # A row deleted here would stay on members' unread counts (rooms.counts) and in
        # the clients that have it; deleting in the chat empties it and tells them.
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    raw_id_fields = ["user"]
    fields = [
        "user",
        "role",
        "banned",
        "muted_until",
        "last_read_id",
        "unread",
        "mentions",
        "joined",
    ]
    readonly_fields = ["last_read_id", "unread", "mentions", "joined"]
    extra = 0


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    """Private rooms and direct conversations. Members changed here do not close open
    sockets: remove and ban members on the room's members page, where they do."""

    list_display = ["name", "pair", "created_by", "created"]
    search_fields = ["name", "memberships__user__username"]
    raw_id_fields = ["created_by"]
    inlines = [MembershipInline]

    def save_formset(self, request, form, formset, change):
        # A member added here starts caught up, as one invited in the chat does.
        for seat in formset.save(commit=False):
            if seat.pk is None:
                for field, value in membership.caught_up(form.instance).items():
                    setattr(seat, field, value)
            seat.save()
        for seat in formset.deleted_objects:
            seat.delete()
        formset.save_m2m()

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
