"""The chat socket: translates between WebSocket frames and the room's channel-layer group.

Rules live elsewhere: frame shapes and validation in chat.protocol, room names in
chat.rooms, who is speaking in chat.identity{% if cookiecutter.persist_messages %}, storage in chat.history{% endif %}, delivery to
the room's sockets in chat.fanout.
"""

import contextlib
{%- if cookiecutter.channel_layer == "redis" %}
import logging
{%- endif %}
import time

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
{%- if cookiecutter.persist_messages %}
from django.db import DatabaseError
{%- else %}
from django.utils import timezone
{%- endif %}

from chat import fanout, {% if cookiecutter.persist_messages %}history, {% endif %}identity, presence, protocol, ratelimit
{%- if cookiecutter.channel_layer == "redis" %}
from chat.fanout import LAYER_UNAVAILABLE
{%- endif %}
from chat.rooms import InvalidRoomName, group_name, normalize_room_name
{%- if cookiecutter.channel_layer == "redis" %}

logger = logging.getLogger(__name__)
{%- endif %}

# Typing notices from one socket reach the room at most this often, in seconds.
TYPING_INTERVAL = 2


class ChatConsumer(AsyncWebsocketConsumer):
    group = None
    sender = None
    present = False
    last_typing = float("-inf")
{%- if cookiecutter.channel_layer == "redis" %}

    async def __call__(self, scope, receive, send):
        # Without Redis an open socket can neither receive nor send room messages: close
        # it with "try again later" rather than let it hang or fail with 1011. Clients
        # reconnect, and get in again as soon as Redis is back.
        try:
            await super().__call__(scope, receive, send)
        except LAYER_UNAVAILABLE:
            logger.warning("Channel layer unreachable; closing the socket.", exc_info=True)
            self.release_sender()
            with contextlib.suppress(*LAYER_UNAVAILABLE):
                await self.leave_presence()
            with contextlib.suppress(*LAYER_UNAVAILABLE):
                await self.leave_room()
            await send({"type": "websocket.close", "code": protocol.CLOSE_TRY_AGAIN_LATER})
{%- endif %}

    async def connect(self):
        try:
            self.room = normalize_room_name(self.scope["url_route"]["kwargs"]["room"])
        except InvalidRoomName as exc:
            await self.refuse(protocol.CLOSE_INVALID_ROOM, protocol.INVALID_ROOM, str(exc))
            return
        user = self.scope["user"]
        if not user.is_authenticated and not settings.CHAT_ALLOW_ANONYMOUS:
            await self.refuse(protocol.CLOSE_LOGIN_REQUIRED)
            return
        self.display_name = await database_sync_to_async(identity.display_name)(
            user, self.scope["session"]
        )
        self.sender = ratelimit.sender_key(self.scope, self.channel_name)
        self.bucket = ratelimit.sender_buckets.acquire(
            self.sender,
            rate=settings.CHAT_RATE_LIMIT_PER_SECOND,
            burst=settings.CHAT_RATE_LIMIT_BURST,
        )
        self.strikes = 0
        self.group = group_name(self.room)
        # Join before accepting: once the client sees the socket open, it receives every
        # message sent to the room from then on. Nothing may be awaited between the two,
        # or the room could hand this socket a message before it is accepted.
{%- if cookiecutter.channel_layer == "redis" %}
        try:
            await self.join_room()
        except LAYER_UNAVAILABLE:
            self.group = None
            await self.refuse(
                protocol.CLOSE_TRY_AGAIN_LATER,
                protocol.UNAVAILABLE,
                "The chat is unavailable for a moment. Reconnect in a few seconds.",
            )
            return
{%- else %}
        await self.join_room()
{%- endif %}
        await self.accept()
{%- if cookiecutter.persist_messages %}
        # A message sent between joining and reading history arrives twice, once in each;
        # clients drop the repeat by its id.
        await self.send_history(history.history_frame, self.room, settings.CHAT_HISTORY_LENGTH)
{%- endif %}
        online = await presence.join(
            self.group, self.channel_name, self.display_name, notify=self.send
        )
        self.present = True
        await self.announce_presence(online, joined=self.display_name)

    async def refuse(self, close_code, error_code=None, detail=None):
        # Accept before closing, so that the client sees why in the close code rather than
        # a bare handshake failure.
        await self.accept()
        if error_code:
            await self.send_frame(protocol.error(error_code, detail))
        await self.close(code=close_code)

    async def disconnect(self, code):
        self.release_sender()
        online = await self.leave_presence()
        if online is not None:
            await self.announce_presence(online, left=self.display_name)
        await self.leave_room()

    async def join_room(self):
        # Room events reach this socket through its server process's one subscription
        # to the room (chat.fanout), not through a group membership of its own.
        await fanout.join(self.channel_layer, self.group, self.channel_name, self.room_event)

    async def leave_room(self):
        if self.group is not None:
            await fanout.leave(self.group, self.channel_name)

    async def announce_presence(self, online, *, joined=None, left=None):
        """Tell the room who is online, naming a user whose first socket came or last went."""
        # Another tab of a user who stays online is no news.
        if joined and online[joined] > 1:
            joined = None
        if left and online[left] > 0:
            left = None
        frame = protocol.presence(online, joined=joined, left=left)
        if len(online) > presence.ANNOUNCE_LIMIT:
            if joined:
                await self.send_frame(frame)
            return
        await self.channel_layer.group_send(
            self.group,
            {"type": "chat.presence", "frame": protocol.encode(frame), "online": list(online)},
        )

    async def leave_presence(self):
        """Leave the room's list of who is online, once; return who is online now."""
        if not self.present:
            return None
        self.present = False
        return await presence.leave(self.group, self.channel_name)

    def release_sender(self):
        if self.sender is not None:
            ratelimit.sender_buckets.release(self.sender)
            self.sender = None

    async def receive(self, text_data=None, bytes_data=None):
        if self.group is None:
            return  # refused, and closing: a frame that raced the close is dropped
        # Every frame counts, so that a flood of bad frames is limited too.
        retry_after = self.bucket.take()
        if retry_after:
            self.strikes += 1
            if self.strikes >= settings.CHAT_RATE_LIMIT_STRIKES:
                await self.close(code=protocol.CLOSE_TOO_MANY_MESSAGES)
            else:
                await self.send_frame(protocol.rate_limited(retry_after))
            return
        self.strikes = 0
        if text_data is None:
            await self.send_frame(
                protocol.error(protocol.BINARY_NOT_SUPPORTED, "Send frames as JSON text.")
            )
            return
        try:
            frame = protocol.parse_client_frame(
                text_data, max_message_length=settings.CHAT_MAX_MESSAGE_LENGTH
            )
        except protocol.ProtocolError as exc:
            await self.send_frame(protocol.error(exc.code, exc.detail))
            return
        if frame["type"] == protocol.TYPING:
            await self.announce_typing()
            return
{%- if cookiecutter.persist_messages %}
        if frame["type"] == protocol.CHAT_RESUME:
            await self.send_history(
                history.resume_frame, self.room, frame["after"], settings.CHAT_HISTORY_LENGTH
            )
            return
        if frame["type"] == protocol.CHAT_HISTORY:
            page_size = settings.CHAT_HISTORY_LENGTH
            limit = min(frame["limit"] or page_size, page_size)
            await self.send_history(history.history_frame, self.room, limit, frame["before"])
            return
{%- endif %}
        await self.post_message(frame["message"], frame.get("client_id"))

{%- if cookiecutter.persist_messages %}

    async def send_history(self, read_history, *args):
        try:
            frame = await database_sync_to_async(read_history)(*args)
        except DatabaseError:
            frame = protocol.error(
                protocol.HISTORY_UNAVAILABLE, "History could not be read. Please ask again."
            )
        await self.send_frame(frame)
{%- endif %}

    async def post_message(self, text, client_id):
{%- if cookiecutter.persist_messages %}
        # Saved before it is broadcast: nobody sees a message that history will not have.
        try:
            message = await database_sync_to_async(history.save_message)(
                room=self.room, user=self.scope["user"], display_name=self.display_name, text=text
            )
        except DatabaseError:
            await self.send_frame(
                protocol.error(
                    protocol.NOT_SAVED, "Your message could not be saved. Please send it again."
                )
            )
            return
        frame = history.message_frame(message)
{%- else %}
        frame = protocol.chat_message(text=text, user=self.display_name, ts=timezone.now())
{%- endif %}
        if client_id is not None:
            frame["client_id"] = client_id
        # Encoded once here, not once per member of the room.
        await self.channel_layer.group_send(
            self.group, {"type": "chat.message", "frame": protocol.encode(frame)}
        )

    async def announce_typing(self):
        now = time.monotonic()
        if now - self.last_typing < TYPING_INTERVAL:
            return
        self.last_typing = now
        frame = protocol.encode(protocol.typing(self.display_name))
        await self.channel_layer.group_send(
            self.group, {"type": "chat.typing", "frame": frame, "sender": self.channel_name}
        )

    async def room_event(self, event):
        """Hand this socket an event sent to its room."""
        if event["type"] != protocol.CHAT_MESSAGE:
            await self.dispatch(event)
            return
        # Messages, the commonest event by far, go straight out, as send() would send them:
        # dispatching each through Channels' handler and send methods, once per member of
        # the room, took 18% of the event loop's time under load (bench/README.md).
        with contextlib.suppress(Disconnected):
            await self.base_send({"type": "websocket.send", "text": event["frame"]})

    async def chat_typing(self, event):
        if event["sender"] != self.channel_name:
            await self.send(text_data=event["frame"])

    async def chat_presence(self, event):
        presence.told(self.group, event["online"])
        await self.send(text_data=event["frame"])
{%- if cookiecutter.channel_layer == "redis" %}

    async def chat_unavailable(self, event):
        # The room's messages can no longer reach this socket (chat.fanout).
        await self.close(code=protocol.CLOSE_TRY_AGAIN_LATER)
{%- endif %}

    async def dispatch(self, message):
        # Channels (since 4.2, django/channels#2090) closes stale database connections
        # before every handler, with a hop to the thread pool: once per frame from the
        # client and once per member of the room for every room event, 17% of the event
        # loop's time under load (bench/README.md).
        # Every database call here goes through database_sync_to_async, which closes them
        # itself, in the thread that uses them.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def send(self, text_data=None, bytes_data=None, close=False):
        # Daphne passes a send to a socket whose close handshake is under way on to its
        # WebSocket library, which raises (django/channels#1820). The socket's disconnect
        # follows; the frame has nobody to go to.
        with contextlib.suppress(Disconnected):
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def send_frame(self, frame):
        await self.send(text_data=protocol.encode(frame))
