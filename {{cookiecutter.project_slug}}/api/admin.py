from django.contrib import admin, messages
from django.contrib.auth import get_user_model

from api import tokens
from api.models import ApiToken


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
        key = tokens.give_key(obj)
        super().save_model(request, obj, form, change)
        self.message_user(
            request, f"The key of {obj.name!r}, shown only now: {key}", level=messages.WARNING
        )
