"""Messages are not saved in this project: they reach the sockets open when they are
sent, and nothing else.

The consumer and the lobby use the same functions as in a project that saves messages;
here history is always empty, so a socket's first frame is an empty chat.history page
and a reconnecting client learns that nothing can be resumed.
"""

import hashlib

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import identity, protocol

KEEPS_HISTORY = False

# Nothing here can fail the way a database can.
OUTAGES = ()

# How long a message's client_id is remembered, so that the same message sent again (after
# a lost connection, or a reload) does not reach the room twice.
SENT_IDS_SECONDS = 15 * 60


async def save_message(
    *, room, user, display_name, text, client_id=None, guest_key="", reply_to=None
):
    """Return the message's chat.message frame (it has no id, since it is not saved) and
    whether it is new: its sender may have sent it already under ``client_id``. An answer
    to another message (``reply_to``) is refused: none has an id.

    Client ids are remembered in Django's cache, which every server process shares when
    they share Redis."""
    if reply_to is not None:
        raise protocol.ChatError(
            protocol.NOT_FOUND,
            _("Messages are not saved here, so there is no message to answer."),
        )
    frame = protocol.chat_message(
        text=text, user=display_name, guest=identity.is_guest(user), ts=timezone.now()
    )
    if client_id is None:
        return frame, True
    sent = hashlib.sha256(f"{room}\n{display_name}\n{client_id}".encode()).hexdigest()
    return frame, await cache.aadd(f"chat:sent:{sent}", True, SENT_IDS_SECONDS)


async def history_frame(room, before_id=None, limit=None):
    return protocol.chat_history([], more=False)


async def resume_frame(room, after_id, changed_since=None):
    # Nothing sent while the client was away can be given back.
    return protocol.chat_history([], more=False, recovered=False)


def may_delete_any(user, room):
    return False  # there is no message to delete


async def edit_message(*, room, message_id, user, guest_key, text):
    raise _not_found()


async def erase_message(*, room, message_id, user, guest_key):
    raise _not_found()


def _not_found():
    # Unsaved messages have no ids: no frame can name one.
    return protocol.ChatError(protocol.NOT_FOUND, _("There is no such message here."))


def delete_sent_message(room, display_name, client_id):
    pass  # nothing was saved


def active_rooms():
    return []
