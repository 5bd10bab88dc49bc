"""Messages are not saved in this project: they reach the sockets open when they are
sent, and nothing else.

The consumer and the lobby use the same functions as in a project that saves messages;
here history is always empty, so a socket's first frame is an empty chat.history page
and a reconnecting client learns that nothing can be resumed.
"""

from django.utils import timezone

from chat import identity, protocol

KEEPS_HISTORY = False

# Nothing here can fail the way a database can.
UNAVAILABLE = ()


async def save_message(*, room, user, display_name, text):
    """Return the message's chat.message frame; it has no id, since it is not saved."""
    return protocol.chat_message(
        text=text, user=display_name, guest=identity.is_guest(user), ts=timezone.now()
    )


async def history_frame(room, before_id=None, limit=None):
    return protocol.chat_history([], more=False)


async def resume_frame(room, after_id):
    return protocol.chat_history([], more=False)


def active_rooms():
    return []
