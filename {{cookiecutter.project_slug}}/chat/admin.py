from django.contrib import admin

from chat.models import Message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["created", "room", "display_name", "text"]
    list_filter = ["created"]
    search_fields = ["room", "display_name", "text"]
    raw_id_fields = ["user"]
    date_hierarchy = "created"
