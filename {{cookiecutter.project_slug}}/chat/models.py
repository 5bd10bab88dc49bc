from django.conf import settings
from django.db import models

from chat.rooms import ROOM_NAME_MAX_LENGTH


class Message(models.Model):
    room = models.CharField(max_length=ROOM_NAME_MAX_LENGTH)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Kept beside the user so that guests' messages, and those of deleted users, still
    # show who wrote them, and which were a guest's.
    display_name = models.CharField(max_length=150)
    guest = models.BooleanField(default=False)
    text = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["room", "id"], name="chat_message_room_id")]

    def __str__(self):
        return f"{self.display_name} in {self.room}: {self.text[:50]}"
