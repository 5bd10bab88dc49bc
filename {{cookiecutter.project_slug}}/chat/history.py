"""Saved messages: saving them and reading a room's history.

The consumer awaits save_message, history_frame and resume_frame; each runs its ORM code
in a worker thread through database_sync_to_async, which also closes the thread's stale
connections. A project that does not save messages has, in this module's place, one with
the same names that keeps nothing.
"""

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Count, Max, Q

from chat import identity, protocol
from chat.models import Message

KEEPS_HISTORY = True

# What the functions below raise when the database fails them; the consumer answers with
# an error frame instead of closing the socket.
UNAVAILABLE = (DatabaseError,)


@database_sync_to_async
def save_message(*, room, user, display_name, text, client_id=None):
    """Save a message; return its chat.message frame, with the id it was saved under, and
    whether it is new: a message its sender already sent under ``client_id`` is not saved
    again, and its frame is the one saved then."""
    guest = identity.is_guest(user)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                room=room,
                user=None if guest else user,
                guest=guest,
                display_name=display_name,
                text=text,
                client_id=client_id or "",
            )
    except IntegrityError:
        if not client_id:
            raise
        sent = Message.objects.get(room=room, display_name=display_name, client_id=client_id)
        return message_frame(sent), False
    return message_frame(message), True


def message_frame(message):
    return protocol.chat_message(
        text=message.text,
        user=message.display_name,
        guest=message.guest,
        ts=message.created,
        message_id=message.id,
    )


def page_frame(messages, limit):
    """A chat.history frame of the first ``limit`` of ``messages`` (read one further, to
    tell whether more follow), oldest first."""
    page = sorted(messages[:limit], key=lambda message: message.id)
    return protocol.chat_history(
        [message_frame(message) for message in page], more=len(messages) > limit
    )


def page_size(asked=None):
    """The size of a history page: what the client asked for, up to CHAT_HISTORY_LENGTH."""
    return min(asked or settings.CHAT_HISTORY_LENGTH, settings.CHAT_HISTORY_LENGTH)


@database_sync_to_async
def history_frame(room, before_id=None, limit=None):
    """The room's last messages (before ``before_id``, if given), a page of them, and
    whether older ones exist."""
    limit = page_size(limit)
    messages = Message.objects.filter(room=room)
    if before_id is not None:
        messages = messages.filter(id__lt=before_id)
    return page_frame(list(messages.order_by("-id")[: limit + 1]), limit)


@database_sync_to_async
def resume_frame(room, after_id):
    """The room's first page of messages after ``after_id``, and whether newer ones exist."""
    limit = page_size()
    missed = Message.objects.filter(room=room, id__gt=after_id).order_by("id")
    return page_frame(list(missed[: limit + 1]), limit)


def active_rooms():
    """Names of the CHAT_LOBBY_ROOMS rooms with the most recent messages, most recent
    first, among rooms someone was answered in or an account wrote in.

    A room one guest wrote in alone is not listed: guests need no account, and a socket
    without cookies is a new guest, so anyone could otherwise fill the lobby with rooms
    of their choosing, one message each.
    """
    return list(
        Message.objects.values("room")
        .annotate(
            last_id=Max("id"),
            writers=Count("display_name", distinct=True),
            by_accounts=Count("user"),
        )
        .filter(Q(writers__gte=2) | Q(by_accounts__gt=0))
        .order_by("-last_id")
        .values_list("room", flat=True)[: settings.CHAT_LOBBY_ROOMS]
    )
