from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from chat.protocol import MAX_CLIENT_ID_LENGTH
from chat.room_names import ROOM_NAME_MAX_LENGTH


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
    # When it was last edited or deleted: what a client that was away asks for on resuming.
    changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A deleted message keeps its place (ids, the order of history, what clients resume
    # from) and who wrote it, but not its text, which is emptied.
    deleted = models.BooleanField(default=False)
    # The sender's own id for the message, if it gave one: a message sent again under the
    # same id (after a lost connection, or a reload) is the one already saved.
    client_id = models.CharField(max_length=MAX_CLIENT_ID_LENGTH, blank=True, default="")
    # The message of the same room this one answers, if any (rooms.history).
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["room", "id"], name="rooms_message_room_id"),
            models.Index(fields=["room", "changed_at"], name="rooms_message_room_changed"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["room", "display_name", "client_id"],
                condition=~models.Q(client_id=""),
                name="rooms_message_sent_once",
            )
        ]

    def __str__(self):
        return f"{self.display_name} in {self.room}: {self.text[:50]}"


class Room(models.Model):
    """A private room, or a direct conversation of two users: members only
    (rooms.membership). Public rooms have no row here: anyone may open any other name,
    and what the lobby needs of one that has messages is a PublicRoom."""

    name = models.CharField(max_length=ROOM_NAME_MAX_LENGTH, unique=True)
    # For a direct conversation, its two users' ids, "lower:higher": the pair has one.
    pair = models.CharField(max_length=41, unique=True, null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    # A hash of the key of the room's invite link, if it has one; the key itself is shown
    # to the owner only.
    invite_key_hash = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )

    def __str__(self):
        return self.name


class Membership(models.Model):
    OWNER = "owner"
    MODERATOR = "moderator"
    MEMBER = "member"
    ROLES = [(OWNER, _("owner")), (MODERATOR, _("moderator")), (MEMBER, _("member"))]

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_memberships"
    )
    role = models.CharField(max_length=10, choices=ROLES, default=MEMBER)
    # A banned user keeps this row, so that no invite brings them back until unbanned.
    banned = models.BooleanField(default=False)
    muted_until = models.DateTimeField(null=True, blank=True)
    # The id of the last message of the room this member has read.
    last_read_id = models.PositiveBigIntegerField(default=0)
    joined = models.DateTimeField(auto_now_add=True)
    # Kept as messages are posted, edited, deleted and read (rooms.counts), so that no
    # room list counts a room's history: the room's last message, which orders the list;
    # the messages after last_read_id that are not deleted and not the member's own; and
    # those of them that mention the member.
    last_message_id = models.PositiveBigIntegerField(default=0, editable=False)
    unread = models.IntegerField(default=0, editable=False)
    mentions = models.IntegerField(default=0, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="rooms_membership_once")
        ]
        indexes = [
            # A member's room list, most recent first, a page at a time.
            models.Index(fields=["user", "-last_message_id", "-id"], name="rooms_membership_recent")
        ]

    def __str__(self):
        return f"{self.user} in {self.room} ({'banned' if self.banned else self.role})"


class Mention(models.Model):
    """A message of a private room that mentions one of its members (rooms.counts): kept
    so that reading, editing or deleting it takes the mention off the member's count."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "message"], name="rooms_mention_once")
        ]

    def __str__(self):
        return f"{self.membership} in message {self.message_id}"


class PublicRoom(models.Model):
    """A public room that has messages, with what the lobby lists it by (rooms.counts):
    kept as messages are posted, so that the lobby reads a few rows, not the messages."""

    name = models.CharField(max_length=ROOM_NAME_MAX_LENGTH, unique=True)
    last_message_id = models.PositiveBigIntegerField(default=0)
    # Who wrote its first message; the room is listed once someone else writes, or an
    # account does (rooms.history.active_rooms).
    first_writer = models.CharField(max_length=150)
    listed = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["listed", "-last_message_id"], name="rooms_publicroom_listed")
        ]

    def __str__(self):
        return self.name


class ModerationAction(models.Model):
    """Who did what to whom in a private room, and when (rooms.membership)."""

    INVITE = "invite"
    JOIN_BY_LINK = "join_by_link"
    ROLE = "role"
    MUTE = "mute"
    UNMUTE = "unmute"
    REMOVE = "remove"
    BAN = "ban"
    UNBAN = "unban"
    LINK_CREATED = "link_created"
    LINK_REVOKED = "link_revoked"
    DELETE_MESSAGE = "delete_message"
    ACTIONS = [
        (action, action.replace("_", " "))
        for action in [
            INVITE,
            JOIN_BY_LINK,
            ROLE,
            MUTE,
            UNMUTE,
            REMOVE,
            BAN,
            UNBAN,
            LINK_CREATED,
            LINK_REVOKED,
            DELETE_MESSAGE,
        ]
    ]

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="moderation_actions")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=20, choices=ACTIONS)
    # What else there is to know: the role given, the time muted until, the message id.
    detail = models.CharField(max_length=200, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.actor} {self.get_action_display()} {self.target or ''} in {self.room}"
