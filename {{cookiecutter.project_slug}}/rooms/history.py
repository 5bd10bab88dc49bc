"""Saved messages: saving them and reading a room's history.

The consumer awaits save_message, history_frame and resume_frame; each runs its ORM code
in a worker thread through database_sync_to_async, which also closes the thread's stale
connections. A project that does not save messages has, in this module's place, one with
the same names that keeps nothing.
"""

from datetime import timedelta

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import identity, protocol
from rooms import counts, membership, message_rights
from rooms.models import Message, ModerationAction, PublicRoom

KEEPS_HISTORY = True

# Changes to messages a client already has that one resume gives back; beyond that, the
# client is told to reload.
MAX_RESUMED_CHANGES = 200
# Server processes' clocks may differ a little: changes a client saw already may come
# again (clients apply a change once), none it missed may be left out.
CLOCK_MARGIN = timedelta(seconds=60)

# What the functions below raise when the database fails them; the consumer answers with
# an error frame instead of closing the socket.
OUTAGES = (DatabaseError,)


@database_sync_to_async
def save_message(*, room, user, display_name, text, client_id=None, guest_key="", reply_to=None):
    """Save a message, an answer to the message ``reply_to`` of the room if given; return
    its chat.message frame, with the id it was saved under, and whether it is new: a
    message its sender already sent under ``client_id`` is not saved again, and its frame
    is the one saved then. ChatError if the sender may not post to the room now
    (forbidden, muted: rooms.membership), or the room has no message ``reply_to``
    (not_found)."""
    seat = membership.check_may_post(user, room)
    guest = identity.is_guest(user)
    answered = None if reply_to is None else message_answered(room, reply_to)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                room=room,
                user=None if guest else user,
                guest=guest,
                guest_key_hash=identity.guest_key_hash(guest_key) if guest else "",
                display_name=display_name,
                text=text,
                client_id=client_id or "",
                reply_to=answered,
            )
            counts.posted(message, seat and seat.room_id)
    except IntegrityError:
        if not client_id:
            raise
        sent = messages_shown(room).get(display_name=display_name, client_id=client_id)
        return message_frame(sent), False
    return message_frame(message), True


def message_answered(room, message_id):
    """The message ``message_id`` of ``room``, which a new one answers: never another
    room's; deleted or not, as a deleted message keeps its place and a reply shows it
    deleted."""
    message = Message.objects.filter(room=room, id=message_id).first()
    if message is None:
        raise protocol.ChatError(protocol.NOT_FOUND, _("There is no such message here."))
    return message


def messages_shown(room):
    """The room's messages, each read with the message it answers in the same query."""
    return Message.objects.filter(room=room).select_related("reply_to")


def message_frame(message):
    answered = message.reply_to
    return protocol.chat_message(
        text="" if message.deleted else message.text,
        user=message.display_name,
        guest=message.guest,
        ts=message.created,
        message_id=message.id,
        edited_at=message.edited_at,
        deleted=message.deleted,
        reply_to=None
        if answered is None
        else protocol.reply_excerpt(
            message_id=answered.id,
            user=answered.display_name,
            text=answered.text,
            deleted=answered.deleted,
        ),
    )


# What the room page tells its client it may offer.
may_delete_any = message_rights.may_delete_any


def changeable_message(room, message_id):
    """The message ``message_id`` of ``room``, locked until the transaction ends; not one
    of another room, nor a deleted one."""
    message = (
        Message.objects.select_for_update().filter(room=room, id=message_id, deleted=False).first()
    )
    if message is None:
        raise protocol.ChatError(protocol.NOT_FOUND, _("There is no such message here."))
    return message


@database_sync_to_async
def edit_message(*, room, message_id, user, guest_key, text):
    """Let the message's author change its text; return the chat.edit frame and True (it
    changed), or raise ChatError (not_found, forbidden)."""
    with transaction.atomic():
        message = changeable_message(room, message_id)
        message_rights.check_may_edit(user, guest_key, message)
        # Muted, or no longer a member: no new words, in a new message or an old one.
        seat = membership.check_may_post(user, room)
        message.text = text
        message.edited_at = message.changed_at = timezone.now()
        message.save(update_fields=["text", "edited_at", "changed_at"])
        counts.edited(message, seat and seat.room_id)
    return protocol.chat_edit(message.id, message.text, message.edited_at), True


@database_sync_to_async
def erase_message(*, room, message_id, user, guest_key):
    """Let the message's author (or staff) delete it: its text is gone from the database.
    Return the chat.delete frame and whether the message was deleted just now, or raise
    ChatError (not_found, forbidden).

    Deleting a message already deleted succeeds: a client that did not hear back asks
    again."""
    with transaction.atomic():
        # Locked first, deleted or not: of two deletes at once, the second waits for the
        # first and is then answered as done.
        message = Message.objects.select_for_update().filter(room=room, id=message_id).first()
        if message is not None and message.deleted:
            return protocol.chat_delete(message_id), False
        message = changeable_message(room, message_id)
        message_rights.check_may_delete(user, guest_key, message)
        message.text = ""
        message.deleted = True
        message.changed_at = timezone.now()
        message.save(update_fields=["text", "deleted", "changed_at"])
        private = membership.private_room(room)
        counts.erased(message, private and private.pk)
        if private is not None and not message_rights.wrote(user, guest_key, message):
            membership.record(
                private, user, ModerationAction.DELETE_MESSAGE, message.user, str(message.id)
            )
    return protocol.chat_delete(message.id), True


def page_frame(messages, limit, recovered=None, changes=None):
    """A chat.history frame of the first ``limit`` of ``messages`` (read one further, to
    tell whether more follow), oldest first; with the messages ``changes`` too, if
    given."""
    page = sorted(messages[:limit], key=lambda message: message.id)
    return protocol.chat_history(
        [message_frame(message) for message in page],
        more=len(messages) > limit,
        recovered=recovered,
        changes=None if changes is None else [message_frame(message) for message in changes],
    )


def page_size(asked=None):
    """The size of a history page: what the client asked for, up to CHAT_HISTORY_LENGTH."""
    return min(asked or settings.CHAT_HISTORY_LENGTH, settings.CHAT_HISTORY_LENGTH)


@database_sync_to_async
def history_frame(room, before_id=None, limit=None):
    """The room's last messages (before ``before_id``, if given), a page of them, and
    whether older ones exist."""
    limit = page_size(limit)
    messages = messages_shown(room)
    if before_id is not None:
        messages = messages.filter(id__lt=before_id)
    return page_frame(list(messages.order_by("-id")[: limit + 1]), limit)


@database_sync_to_async
def resume_frame(room, after_id, changed_since=None):
    """The room's first page of messages after ``after_id``, whether newer ones exist, and
    whether the history resumed from is intact: the room still has the message
    ``after_id`` (the last one the client had) or a later one. If it has neither, what
    the client had is gone (lost with a database restored from an older backup, say) and
    what follows cannot be trusted to be whole. A message deleted since is not missed.

    With ``changed_since`` (the latest time the client saw), also the messages up to
    ``after_id`` edited or deleted since then, which the client still shows as they
    were; if there are more than MAX_RESUMED_CHANGES, it had better reload."""
    limit = page_size()
    messages = messages_shown(room)
    missed = list(messages.filter(id__gt=after_id).order_by("id")[: limit + 1])
    intact = after_id == 0 or messages.filter(id__gte=after_id).exists()
    changes = None
    if changed_since is not None:
        # Read in the order of the index on (room, changed_at), which finds the few
        # messages changed lately among a room's million; sent in the order of their ids.
        changes = list(
            messages.filter(
                id__lte=after_id, changed_at__gte=changed_since - CLOCK_MARGIN
            ).order_by("changed_at")[: MAX_RESUMED_CHANGES + 1]
        )
        if len(changes) > MAX_RESUMED_CHANGES:
            intact, changes = False, []
        changes.sort(key=lambda message: message.id)
    return page_frame(missed, limit, recovered=intact, changes=changes)


def delete_sent_message(room, display_name, client_id):
    """Delete the message ``display_name`` sent to ``room`` under ``client_id``: the probe's
    (manage.py chat_probe), which is no one's history."""
    Message.objects.filter(room=room, display_name=display_name, client_id=client_id).delete()


def active_rooms():
    """Names of the CHAT_LOBBY_ROOMS public rooms with the most recent messages, most
    recent first, among rooms someone was answered in or an account wrote in: the
    PublicRoom rows rooms.counts keeps, read through their index.

    Private rooms and direct conversations are never listed: they are their members'
    alone (rooms.membership). A room one guest wrote in alone is not listed: guests need
    no account, and a socket without cookies is a new guest, so anyone could otherwise
    fill the lobby with rooms of their choosing, one message each.
    """
    return list(
        PublicRoom.objects.filter(listed=True)
        .order_by("-last_message_id")
        .values_list("name", flat=True)[: settings.CHAT_LOBBY_ROOMS]
    )
