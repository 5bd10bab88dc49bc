"""Saving messages and reading a room's history. Synchronous ORM code: the consumer calls
it through database_sync_to_async."""

from django.db.models import Max

from chat import protocol
from chat.models import Message


def save_message(*, room, user, display_name, text):
    return Message.objects.create(
        room=room,
        user=user if user.is_authenticated else None,
        display_name=display_name,
        text=text,
    )


def message_frame(message):
    return protocol.chat_message(
        text=message.text, user=message.display_name, ts=message.created, message_id=message.id
    )


def page_frame(messages, limit):
    """A chat.history frame of the first ``limit`` of ``messages`` (read one further, to
    tell whether more follow), oldest first."""
    page = sorted(messages[:limit], key=lambda message: message.id)
    frame = protocol.chat_history([message_frame(message) for message in page])
    frame["more"] = len(messages) > limit
    return frame


def history_frame(room, limit, before_id=None):
    """The last ``limit`` messages of ``room`` (before ``before_id``, if given), and
    whether older ones exist."""
    messages = Message.objects.filter(room=room)
    if before_id is not None:
        messages = messages.filter(id__lt=before_id)
    return page_frame(list(messages.order_by("-id")[: limit + 1]), limit)


def resume_frame(room, after_id, limit):
    """The first ``limit`` messages of ``room`` after ``after_id``, and whether newer ones
    exist."""
    missed = Message.objects.filter(room=room, id__gt=after_id).order_by("id")
    return page_frame(list(missed[: limit + 1]), limit)


def active_rooms(limit):
    """Names of the ``limit`` rooms with the most recent messages, most recent first."""
    return list(
        Message.objects.values("room")
        .annotate(last_id=Max("id"))
        .order_by("-last_id")
        .values_list("room", flat=True)[:limit]
    )
