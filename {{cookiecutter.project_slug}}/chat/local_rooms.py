"""This server process's side of each room: one object per room and process.

The Channels tutorial adds every socket to its room's group, so a message to a room of N
sockets becomes N messages in the channel layer (N pushes into Redis and N reads back,
with channels-redis) and N consumer tasks woken up, one per socket. Here each server
process joins the group once, with a channel of its own, and hands each message, encoded
once by its sender, to all its sockets in that room in one pass. Anything that sends to
the room's group (a consumer, a view, a management command) reaches every socket.

The same object renews, together, what its sockets hold in the room: the process's
group membership, well within the layer's group expiry, so that a room open for days
keeps receiving; and the sockets' presence entries (chat.presence), reading the list of
who is online only when it changed without the room being told.

One error policy for all of it: a socket whose handler fails costs the others nothing; a
renewal that fails is logged and tried again at the next; a room whose channel can no
longer receive (Redis went away) tells each of its sockets with the event UNAVAILABLE and
is forgotten, so that the next socket to come subscribes afresh.
"""

import asyncio
import contextlib
import logging
import weakref
from collections import Counter

from chat import presence, protocol
from chat.outages import LAYER_UNAVAILABLE

logger = logging.getLogger(__name__)

# The event a room's sockets get when its messages can no longer reach them.
UNAVAILABLE = {"type": "chat.unavailable"}
# The event that carries a presence frame to the room's sockets.
PRESENCE = "chat.presence"
# How often a room cut off from the layer tries to take its channel out of the group.
LEAVE_RETRY_SECONDS = 2


class LocalRoom:
    """This process's sockets in one room, and the channel that receives the room's
    events for them."""

    def __init__(self, layer, group):
        self.layer = layer
        self.group = group
        self.presence = presence.store_for(layer)
        self.members = {}  # channel name -> on_event
        self.listed = {}  # channel name -> display name, of the members listed as online
        self.online = Counter()  # who is online, as this process last read or changed it
        self.told = frozenset()  # the names every socket here was last told of
        self.entries_seen = None
        # Counts the changes this process made to its list; a renewal that read the list
        # while one was made does not overwrite it.
        self.changes = 0
        self.channel = None
        self.opened = asyncio.Event()  # set once open() is over, whether it worked or not
        self.closed = False
        self.tasks = []

    async def open(self):
        try:
            self.channel = await self.layer.new_channel()
            await self.layer.group_add(self.group, self.channel)
        finally:
            self.opened.set()
        self.tasks = [
            asyncio.create_task(self.deliver_forever()),
            # A third of the expiry: a renewal that fails once or twice is not yet a loss.
            asyncio.create_task(
                self.every(self.layer.group_expiry / 3, self.renew_membership, "membership")
            ),
            asyncio.create_task(
                self.every(presence.refresh_interval(), self.renew_presence, "presence")
            ),
        ]

    def stop(self):
        """Stop receiving and renewing; the next socket to come opens the room afresh."""
        self.closed = True
        _forget(self)
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()
        self.tasks = []

    # -- Delivery --------------------------------------------------------------------------

    async def deliver_forever(self):
        try:
            while True:
                await self.deliver(await self.layer.receive(self.channel))
        except LAYER_UNAVAILABLE:
            logger.warning("Channel layer unreachable; closing room %s here.", self.group)
        except Exception:
            logger.exception("Could not receive for room %s; closing it here.", self.group)
        await self.lost()

    async def deliver(self, event):
        """Hand ``event`` to every socket here, in the order they joined.

        The loop awaits each socket's send in turn, so one socket slow to take its frame
        would hold up the rest. It never is: daphne's send() only appends the frame to the
        connection's own write buffer and returns, and a client that stops reading is
        dropped by daphne's keepalive pings (chat/tests/test_slow_client.py). Serving the
        chat with an ASGI server whose send() waits for the client would break this.
        """
        if event["type"] == PRESENCE:
            self.told = frozenset(event["online"])
        # A copy: a socket may leave the room while a frame is being written.
        for on_event in list(self.members.values()):
            # One socket's failure must not cost the others their events.
            try:
                await on_event(event)
            except Exception:
                logger.exception("Could not deliver %r in %s.", event["type"], self.group)

    async def lost(self):
        # The room's events can no longer reach these sockets: tell each, so that it
        # closes rather than wait in silence.
        self.stop()
        self.tasks = [asyncio.create_task(self.leave_group_once_back())]
        await self.deliver(UNAVAILABLE)
        self.members.clear()

    async def leave_group_once_back(self):
        # Until the lost channel leaves the group, Redis keeps queueing the room's events
        # for it, with nobody to read them.
        while True:
            await asyncio.sleep(LEAVE_RETRY_SECONDS)
            with contextlib.suppress(*LAYER_UNAVAILABLE):
                await self.layer.group_discard(self.group, self.channel)
                return

    # -- Renewals --------------------------------------------------------------------------

    async def every(self, interval, renew, what):
        while True:
            await asyncio.sleep(interval)
            try:
                await renew()
            except LAYER_UNAVAILABLE:
                # The sockets are being closed with "try again later" (deliver_forever);
                # entries that are not renewed expire, as they should.
                logger.warning("Channel layer unreachable; %s of %s not renewed.", what, self.group)
            except Exception:
                logger.exception("Could not renew %s of %s.", what, self.group)

    async def renew_membership(self):
        await self.layer.group_add(self.group, self.channel)

    async def renew_presence(self):
        entries, expired = await self.presence.renew(self.group, dict(self.listed))
        if entries == self.entries_seen and not expired:
            return
        changes = self.changes
        online = await self.presence.users(self.group)
        if changes != self.changes:
            # A socket here joined or left while the list was read, and the list may not
            # have it: keep what this process counted, and read again at the next renewal.
            return
        self.entries_seen = entries
        self.online = online
        if set(online) != self.told:
            await self.deliver(presence_event(online))

    # -- Who is online ---------------------------------------------------------------------

    def is_big(self):
        # Nobody is told of joins and leaves in a big room, and reading its whole list for
        # each of a crowd joining at once costs O(N²). There, joins and leaves only write
        # their entry and work from the list this process last read; the renewals read it
        # again when it changed.
        return len(self.online) > presence.ANNOUNCE_LIMIT

    async def list_online(self, channel_name, display_name):
        """List a socket here as online; return how many sockets each user online has."""
        if self.is_big():
            await self.presence.renew(self.group, {channel_name: display_name})
            self.online[display_name] += 1
        else:
            self.online = await self.presence.add(self.group, channel_name, display_name)
        self.listed[channel_name] = display_name
        self.changes += 1
        return Counter(self.online)

    async def unlist_online(self, channel_name):
        """Take a socket here off the list of who is online; return how many sockets each
        user online has now, or None if it was not listed."""
        display_name = self.listed.pop(channel_name, None)
        if display_name is None:
            return None
        if self.is_big():
            await self.presence.drop(self.group, channel_name, display_name)
            self.online[display_name] -= 1
            self.online = +self.online  # without the names whose count fell to 0
        else:
            self.online = await self.presence.remove(self.group, channel_name, display_name)
        self.changes += 1
        return Counter(self.online)

    # -- Members ---------------------------------------------------------------------------

    async def leave(self, channel_name):
        """Unsubscribe a socket; the room's last socket here takes the subscription along."""
        self.members.pop(channel_name, None)
        if self.members or self.closed:
            return
        self.stop()
        try:
            await self.layer.group_discard(self.group, self.channel)
        except LAYER_UNAVAILABLE:
            self.tasks = [asyncio.create_task(self.leave_group_once_back())]
            raise


def presence_event(online, *, joined=None, left=None):
    """The room event that brings its sockets a presence frame, encoded once."""
    return {
        "type": PRESENCE,
        "frame": protocol.encode(protocol.presence(online, joined=joined, left=left)),
        "online": list(online),
    }


# One set of local rooms per event loop: channel layers hold loop-bound state.
_local_rooms = weakref.WeakKeyDictionary()


def _rooms():
    return _local_rooms.setdefault(asyncio.get_running_loop(), {})


def _forget(room):
    rooms = _rooms()
    if rooms.get(room.group) is room:
        del rooms[room.group]


def open_rooms():
    """The groups of the rooms this process is subscribed to."""
    return set(_rooms())


async def join(layer, group, channel_name, on_event):
    """Subscribe a socket to its room; return the room. From when this returns until
    room.leave(channel_name), every event sent to the group is awaited as
    on_event(event), in the order sent; if the room's subscription is lost, a last
    event, UNAVAILABLE, says so."""
    rooms = _rooms()
    # Another socket may be opening the room here: wait for it rather than open it twice.
    while (room := rooms.get(group)) is not None and not room.opened.is_set():
        await room.opened.wait()
    if room is None:
        room = rooms[group] = LocalRoom(layer, group)
        try:
            await room.open()
        except BaseException:
            _forget(room)
            raise
    room.members[channel_name] = on_event
    return room
