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
    # For a guest's message, a hash of their session's key (chat.identity): who may edit
    # and delete it.
    guest_key_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    text = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    # A deleted message keeps its place (ids, the order of history, what clients resume
    # from) and who wrote it, but not its text, which is emptied.
    deleted = models.BooleanField(default=False)
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


class ApiToken(models.Model):
    """A key to the HTTP API (chat.api), acting as its user. Only a hash of the key is
    kept: the key itself is shown once, when the token is made."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_api_tokens"
    )
    # What the token is for ("deploy bot"), for whoever revokes it later.
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The key's first characters, to tell tokens apart in lists without the key.
    prefix = models.CharField(max_length=12, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API token"

    def __str__(self):
        return f"{self.prefix}… ({self.name}, {self.user})"
