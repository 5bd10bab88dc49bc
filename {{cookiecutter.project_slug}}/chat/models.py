from django.conf import settings
from django.db import models

from chat.protocol import MAX_CLIENT_ID_LENGTH
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
    # The sender's own id for the message, if it gave one: a message sent again under the
    # same id (after a lost connection, or a reload) is the one already saved.
    client_id = models.CharField(max_length=MAX_CLIENT_ID_LENGTH, blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["room", "id"], name="chat_message_room_id")]
        constraints = [
            models.UniqueConstraint(
                fields=["room", "display_name", "client_id"],
                condition=~models.Q(client_id=""),
                name="chat_message_sent_once",
            )
        ]

    def __str__(self):
        return f"{self.display_name} in {self.room}: {self.text[:50]}"
