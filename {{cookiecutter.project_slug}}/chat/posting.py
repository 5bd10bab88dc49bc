"""Posting a message to a room, as a socket or the HTTP API does: saved first (where
messages are saved), then sent to every socket in the room, on every server process."""

import time

from chat import events, protocol
from chat.room_names import group_name
from chat.rooms_backend import history
from ops import metrics


async def post_message(
    layer, *, room, user, display_name, text, client_id=None, guest_key="", reply_to=None
):
    """Save the message (an answer to the message ``reply_to``, if given) and send it to
    the room; return its chat.message frame (with ``client_id``) and whether it is new. A
    message its sender already sent under ``client_id`` is not sent again: its frame is
    the one sent then. Raises ChatError if the room refuses it, or one of
    history.OUTAGES if it could not be saved; then nobody received it."""
    received = time.time()
    message, new = await history.save_message(
        room=room,
        user=user,
        display_name=display_name,
        text=text,
        client_id=client_id,
        guest_key=guest_key,
        reply_to=reply_to,
    )
    if client_id is not None:
        message["client_id"] = client_id
    if new:
        metrics.MESSAGES.inc()
        # Encoded once here, not once per member of the room. The time it was received
        # goes along for chat_message_delivery_seconds, in every process that delivers it.
        await layer.group_send(
            group_name(room),
            {
                "type": events.MESSAGE_EVENT,
                "frame": protocol.encode(message),
                "received": received,
            },
        )
    return message, new
