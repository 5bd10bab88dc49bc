"""The chat socket: translates between WebSocket frames and the room.

It holds no rules of its own. Frame shapes, validation and the handler of each frame
type in chat.protocol; room names in chat.room_names; who is speaking in chat.identity;
flood control in chat.limits.flood; how many sockets a client may hold in
chat.limits.socket_caps; who is online, its announcements and typing in chat.presence; history
and membership in the rooms backend (chat.rooms_backend); this server process's side of
the room in chat.local_rooms; and when a session ends its sockets in chat.session_watch.
"""

import asyncio
import contextlib
import logging

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from chat import (
    events,
    identity,
    languages,
    local_rooms,
    posting,
    presence,
    protocol,
    session_watch,
)
from chat.limits import admission, flood, socket_caps
from chat.outages import LAYER_OUTAGES
from chat.room_names import InvalidRoomName, group_name, normalize_room_name
from chat.rooms_backend import history, membership
from ops import drain, metrics

logger = logging.getLogger(__name__)


class ChatConsumer(AsyncWebsocketConsumer):
    local_room = None  # this process's side of the room, once the socket is in it
    socket_owners = None  # whose caps this socket counts against (chat.limits.socket_caps)
    user_group = None  # the group of the logged-in user's sockets (chat.session_watch)
    session_watcher = None
    leaving = False  # told to go elsewhere (ops.drain): frames from now on are dropped

    async def __call__(self, scope, receive, send):
        # The error details this socket is sent are in the language of its page.
        with translation.override(languages.socket_language(scope)):
            await self.serve(scope, receive, send)

    async def serve(self, scope, receive, send):
        # Without the channel layer (Redis away) an open socket can neither receive nor
        # send room messages: close it with "try again later" rather than let it hang or
        # fail with 1011. Clients reconnect, and get in again as soon as Redis is back.
        try:
            with drain.tracked(self):
                await super().__call__(scope, receive, send)
        except LAYER_OUTAGES:
            logger.warning("Channel layer unreachable; closing the socket.", exc_info=True)
            metrics.LAYER_ERRORS.inc()
            self.stop_session_watcher()
            await self.uncount_socket()
            with contextlib.suppress(*LAYER_OUTAGES):
                await self.leave_room()
            await send({"type": "websocket.close", "code": protocol.CLOSE_TRY_AGAIN_LATER})
            metrics.SOCKET_CLOSES.labels(metrics.close_label(protocol.CLOSE_TRY_AGAIN_LATER)).inc()

    # -- Joining and leaving ---------------------------------------------------------------

    async def connect(self):
        metrics.SOCKET_CONNECTS.inc()
        # Held while a frame from the client is handled, so that a drain does not close the
        # socket between saving a message and sending it to the room.
        self.handling = asyncio.Lock()
        try:
            self.room = normalize_room_name(self.scope["url_route"]["kwargs"]["room"])
        except InvalidRoomName as exc:
            await self.refuse(protocol.CLOSE_INVALID_ROOM, protocol.INVALID_ROOM, str(exc))
            return
        user = self.scope["user"]
        if not user.is_authenticated and not settings.CHAT_ALLOW_ANONYMOUS:
            await self.refuse(protocol.CLOSE_LOGIN_REQUIRED)
            return
        try:
            async with admission.admission().turn():
                await self.join(user)
        except admission.Busy:
            await self.refuse_for_now()

    async def join(self, user):
        # Checked once this socket's turn came: the drain may have begun while it waited.
        if await self.sent_away_if_draining():
            return
        try:
            self.display_name, seat = await database_sync_to_async(self.entering)(user)
        except membership.NotAMember:
            await self.refuse(protocol.CLOSE_FORBIDDEN, protocol.FORBIDDEN, membership.refusal())
            return
        self.guest_key = identity.guest_key(user, self.scope["session"])
        self.sender = flood.sender_key(self.scope)
        self.flood_guard = flood.FloodGuard(self.channel_layer, self.sender)
        self.typing = presence.TypingPace()
        self.group = group_name(self.room)
        try:
            if not await self.count_socket():
                await self.refuse(protocol.CLOSE_TOO_MANY_SOCKETS)
                return
            # Join before accepting: once the client sees the socket open, it receives
            # every message sent to the room from then on. Nothing may be awaited between
            # the two, or the room could hand this socket a message before it is accepted.
            room = await local_rooms.join(
                self.channel_layer, self.group, self.channel_name, self.room_event
            )
        except LAYER_OUTAGES:
            metrics.LAYER_ERRORS.inc()
            await self.refuse_for_now()
            return
        self.local_room = room
        metrics.SOCKETS_OPEN.inc()
        await self.accept()
        if user.is_authenticated:
            # In the group first, then checked: a logout before the check is seen by the
            # check, one after it reaches the group.
            self.user_group = session_watch.user_group(user.pk)
            await self.channel_layer.group_add(self.user_group, self.channel_name)
            self.watch_session()
        # A message sent between joining and reading history arrives twice, once in each;
        # clients drop the repeat by its id.
        await self.send_latest_history(room)
        online = await room.list_online(self.channel_name, self.display_name)
        await self.announce_presence(room, online, joined=self.display_name)
        if seat is not None:
            # Asked again now that the socket is in the room: a removal or ban made
            # between the first check and the join told the room before it was in it.
            await self.stay_if_still_a_member()

    async def stay_if_still_a_member(self):
        try:
            await database_sync_to_async(membership.seat)(self.scope["user"], self.room)
        except membership.NotAMember:
            await self.send_away_as_forbidden()

    def entering(self, user):
        """The name ``user`` chats under, and their membership of the room (None for a
        public room); NotAMember if it is private and they may not open it. In one trip to
        the database's thread."""
        seat = membership.seat(user, self.room)
        return identity.display_name(user, self.scope["session"]), seat

    async def count_socket(self):
        """Count this socket against its sender's and its address's caps
        (chat.limits.socket_caps); return False if either is reached."""
        owners = socket_caps.caps(self.sender, flood.address_key(self.scope))
        if not await socket_caps.counts_for(self.channel_layer).add(owners, self.channel_name):
            return False
        self.socket_owners = owners
        return True

    async def uncount_socket(self):
        owners, self.socket_owners = self.socket_owners, None
        if owners is not None:
            # With Redis away, the entry expires by itself.
            with contextlib.suppress(*LAYER_OUTAGES):
                await socket_caps.counts_for(self.channel_layer).remove(owners, self.channel_name)

    async def refuse(self, close_code, error_code=None, detail=None):
        # Accept before closing, so that the client sees why in the close code rather than
        # a bare handshake failure.
        await self.accept()
        if error_code:
            await self.send_frame(protocol.error(error_code, detail))
        await self.close(code=close_code)

    async def refuse_for_now(self):
        await self.refuse(
            protocol.CLOSE_TRY_AGAIN_LATER,
            protocol.UNAVAILABLE,
            _("The chat is unavailable for a moment. Reconnect in a few seconds."),
        )

    def in_room(self):
        return self.local_room is not None

    async def go_away(self, after):
        """This server process is shutting down (ops.drain): once the frame being handled
        is done, tell the client to reconnect in ``after`` seconds, and close."""
        async with self.handling:
            if self.in_room() and not self.leaving:
                await self.send_elsewhere(after)

    async def sent_away_if_draining(self):
        if not drain.is_draining():
            return False
        await self.accept()
        await self.send_elsewhere(drain.reconnect_delay())
        return True

    async def send_elsewhere(self, after):
        self.leaving = True
        await self.send_frame(protocol.reconnect(after))
        await self.close(code=protocol.CLOSE_GOING_AWAY)

    async def disconnect(self, code):
        metrics.SOCKET_CLOSES.labels(metrics.close_label(code)).inc()
        self.stop_session_watcher()
        await self.uncount_socket()
        room = self.local_room
        online = await self.leave_room()
        # A drain sends everyone away to come back at once: no leave is news then.
        if online is not None and not drain.is_draining():
            await self.announce_presence(room, online, left=self.display_name)
        await self.leave_user_group()

    async def leave_room(self):
        """Leave the room, once: off the list of who is online, then unsubscribed. Return
        who is online now, or None if this socket was not listed."""
        room, self.local_room = self.local_room, None
        if room is None:
            return None
        metrics.SOCKETS_OPEN.dec()
        try:
            return await room.unlist_online(self.channel_name)
        finally:
            await room.leave(self.channel_name)

    async def leave_user_group(self):
        if self.user_group is not None:
            group, self.user_group = self.user_group, None
            # With Redis away, the membership expires by itself.
            with contextlib.suppress(*LAYER_OUTAGES):
                await self.channel_layer.group_discard(group, self.channel_name)

    def stop_session_watcher(self):
        if self.session_watcher is not None:
            self.session_watcher.cancel()
            self.session_watcher = None

    async def announce_presence(self, room, online, *, joined=None, left=None):
        """Tell the room who is online when a user's first socket comes or last goes
        (unless the room is too big to be told), and a socket that joins in any case."""
        joining = joined is not None
        # Another tab of a user who stays online is no news to the others.
        if joined and online[joined] > 1:
            joined = None
        if left and online[left] > 0:
            left = None
        news = joined or left
        if news and not room.is_big():
            if admission.admission().crowded():
                # A crowd is joining: one list for all of it once it is in, rather than
                # each join announced to all the others.
                room.announce_once_settled()
            elif await self.flood_guard.may_announce(self.group, news):
                event = local_rooms.presence_event(online, joined=joined, left=left)
                await self.channel_layer.group_send(self.group, event)
                return
        # Encoded only for whom it is sent to: in a big room, a leave tells nobody.
        if joining:
            await self.send_frame(
                room.presence_for_joiner(online, self.display_name, joined=joined)
            )

    # -- Frames from the client ------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        async with self.handling:
            await self.handle_frame(text_data)

    async def handle_frame(self, text_data):
        if self.local_room is None or self.leaving:
            # Refused or sent away, and closing: a frame that raced the close is dropped.
            # Its sender has no answer to it, and sends it again once reconnected.
            return
        try:
            frame = self.read_frame(text_data)
        except protocol.ChatError as exc:
            # Bad frames count against the flood limit too, so that a flood of them is
            # limited as well.
            if await self.within_flood_limit(exc.client_id):
                await self.send_frame(protocol.error(exc.code, exc.detail, exc.client_id))
            return
        # Typing notices are not counted: a socket's reach the room at most once every
        # presence.TYPING_INTERVAL, and a person typing must not use up what their
        # messages may send.
        if frame["type"] == protocol.TYPING or await self.within_flood_limit(
            frame.get("client_id")
        ):
            await getattr(self, protocol.handler_name(frame["type"]))(frame)

    def read_frame(self, text_data):
        if text_data is None:
            raise protocol.ChatError(protocol.BINARY_NOT_SUPPORTED, _("Send frames as JSON text."))
        return protocol.parse_client_frame(
            text_data, max_message_length=settings.CHAT_MAX_MESSAGE_LENGTH
        )

    async def within_flood_limit(self, client_id):
        """Count a frame against the sender's flood limit. Over it, tell the client (or,
        after too many such frames in a row, close the socket) and return False."""
        retry_after = await self.flood_guard.take()
        if not retry_after:
            return True
        if self.flood_guard.struck_out():
            await self.close(code=protocol.CLOSE_TOO_MANY_MESSAGES)
        else:
            await self.send_frame(protocol.rate_limited(retry_after, client_id))
        return False

    # One handler per frame type a client may send, named by protocol.handler_name.

    async def on_chat_message(self, frame):
        client_id = frame.get("client_id")
        try:
            message, new = await posting.post_message(
                self.channel_layer,
                room=self.room,
                user=self.scope["user"],
                display_name=self.display_name,
                text=frame["message"],
                client_id=client_id,
                guest_key=self.guest_key,
                reply_to=frame.get("reply_to"),
            )
        except protocol.ChatError as exc:
            # Muted, no longer a member, or an answer to no message of the room: the room
            # did not get it.
            exc.client_id = client_id
            await self.send_frame(protocol.refusal(exc))
            return
        except history.OUTAGES:
            await self.send_frame(
                protocol.error(
                    protocol.NOT_SAVED,
                    _("Your message could not be saved. Please send it again."),
                    client_id,
                )
            )
            return
        if not new:
            # Sent again by a client that did not hear back (its connection was lost, or
            # the page reloaded): the room has it already; the sender learns it arrived.
            await self.send_frame(message)

    async def on_chat_edit(self, frame):
        await self.change_message(
            frame,
            history.edit_message(
                room=self.room,
                message_id=frame["id"],
                user=self.scope["user"],
                guest_key=self.guest_key,
                text=frame["message"],
            ),
        )

    async def on_chat_delete(self, frame):
        await self.change_message(
            frame,
            history.erase_message(
                room=self.room,
                message_id=frame["id"],
                user=self.scope["user"],
                guest_key=self.guest_key,
            ),
        )

    async def change_message(self, frame, change):
        """Make ``change`` (awaitable) to a saved message and tell the room; or tell the
        client why not, naming its frame and the message."""
        client_id = frame.get("client_id")
        try:
            changed, new = await change
        except protocol.ChatError as exc:
            exc.client_id = client_id
            await self.send_frame(protocol.refusal(exc, frame["id"]))
            return
        except history.OUTAGES:
            await self.send_frame(
                protocol.error(
                    protocol.NOT_SAVED,
                    _("Your change could not be saved. Please try again."),
                    client_id,
                    frame["id"],
                )
            )
            return
        if client_id is not None:
            changed["client_id"] = client_id
        if not new:
            # Asked again by a client that did not hear back: the room knows already.
            await self.send_frame(changed)
            return
        # Handed to each socket as it is (chat_change), encoded once here.
        await self.channel_layer.group_send(
            self.group, {"type": events.CHANGE_EVENT, "frame": protocol.encode(changed)}
        )

    async def on_chat_read(self, frame):
        """Move the user's read marker in a private room; their sockets, in every tab and
        on every device, learn it at once. Public rooms and guests keep no marker."""
        try:
            marker = await database_sync_to_async(membership.mark_read)(
                self.scope["user"], self.room, frame["id"]
            )
        except history.OUTAGES:
            return  # the next read marks this one too
        if marker is None or self.user_group is None:
            return
        read = protocol.chat_read(self.room, marker)
        if frame.get("client_id") is not None:
            read["client_id"] = frame["client_id"]
        await self.channel_layer.group_send(
            self.user_group, {"type": events.READ_EVENT, "frame": protocol.encode(read)}
        )

    async def on_chat_history(self, frame):
        page = history.history_frame(self.room, before_id=frame["before"], limit=frame["limit"])
        await self.send_history(page, frame.get("client_id"))

    async def on_chat_resume(self, frame):
        page = history.resume_frame(self.room, frame["after"], frame.get("changed_since"))
        await self.send_history(page, frame.get("client_id"))

    async def send_history(self, reading, client_id=None):
        """Send the history page ``reading`` (awaitable) will give, or say it failed; in
        either case naming the client's request."""
        try:
            frame = await reading
        except history.OUTAGES:
            frame = history_unavailable()
        if client_id is not None:
            frame["client_id"] = client_id
        await self.send_frame(frame)

    async def send_latest_history(self, room):
        """Send a joining socket the room's latest history page, read and encoded once for
        the sockets that join at about the same time: a crowd joining reads it once."""
        try:
            text = await room.shared_history(self.read_latest_history)
        except history.OUTAGES:
            await self.send_frame(history_unavailable())
            return
        await self.send(text_data=text)

    async def read_latest_history(self):
        return protocol.encode(await history.history_frame(self.room))

    async def on_typing(self, frame):
        if not self.typing.may_announce():
            return
        guest = identity.is_guest(self.scope["user"])
        frame = protocol.encode(protocol.typing(self.display_name, guest=guest))
        await self.channel_layer.group_send(
            self.group, {"type": events.TYPING_EVENT, "frame": frame, "sender": self.channel_name}
        )

    # -- The session ------------------------------------------------------------------------

    async def end_with_session(self):
        await session_watch.until_session_ends(self.scope)
        self.session_watcher = None
        await self.close(code=protocol.CLOSE_FORBIDDEN)

    async def chat_session_ended(self, event):
        if event["session"] == session_watch.session_tag(self.scope["session"].session_key):
            await self.close(code=protocol.CLOSE_FORBIDDEN)

    async def chat_read(self, event):
        await self.send(text_data=event["frame"])

    async def chat_user_changed(self, event):
        # Checked again now, as when the socket opened, and watched from then on.
        self.watch_session()

    def watch_session(self):
        self.stop_session_watcher()
        self.session_watcher = asyncio.create_task(self.end_with_session())

    # -- Events from the room --------------------------------------------------------------

    async def room_event(self, event):
        """Hand this socket an event sent to its room (chat.local_rooms)."""
        if event["type"] != events.MESSAGE_EVENT:
            await self.dispatch(event)
            return
        # Messages, the commonest event by far, go straight out, as send() would send them:
        # dispatching each through Channels' handler and send methods, once per member of
        # the room, costs a large share of the server's time in a busy room
        # (bench/benchmark.py measures the CPU per delivery).
        with contextlib.suppress(Disconnected):
            await self.base_send({"type": "websocket.send", "text": event["frame"]})

    async def chat_typing(self, event):
        if event["sender"] != self.channel_name:
            await self.send(text_data=event["frame"])

    async def chat_change(self, event):
        await self.send(text_data=event["frame"])

    async def chat_presence(self, event):
        await self.send(text_data=event["frame"])

    async def chat_members(self, event):
        """Someone was removed or banned from this private room, or the room became
        private: close this socket if its user may no longer be in it."""
        user_id = self.scope["user"].pk
        if event.get("removed") == user_id or (
            "members" in event and user_id not in event["members"]
        ):
            await self.send_away_as_forbidden()

    async def send_away_as_forbidden(self):
        self.leaving = True
        await self.send_frame(protocol.error(protocol.FORBIDDEN, membership.refusal()))
        await self.close(code=protocol.CLOSE_FORBIDDEN)

    async def chat_unavailable(self, event):
        # The room's events can no longer reach this socket (chat.local_rooms).
        await self.close(code=protocol.CLOSE_TRY_AGAIN_LATER)

    async def dispatch(self, message):
        # Channels (django/channels#2090) closes stale database connections before every
        # handler, with a hop to the thread pool: once per frame from the client and once
        # per member of the room for every room event, a large share of the server's time
        # under load. It is safe to skip because every database call of the consumer and
        # the rooms backend goes through database_sync_to_async, which closes them in the
        # thread that uses them: Django refuses one made on the event loop
        # (SynchronousOnlyOperation), so a call that did not would fail the suite's tests.
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
            metrics.DELIVERIES.inc()

    async def send_frame(self, frame):
        await self.send(text_data=protocol.encode(frame))


def history_unavailable():
    return protocol.error(
        protocol.HISTORY_UNAVAILABLE, _("History could not be read. Please ask again.")
    )
