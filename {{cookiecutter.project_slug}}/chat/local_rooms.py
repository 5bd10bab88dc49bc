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
longer receive (Redis went away) tells each of its sockets with UNAVAILABLE_EVENT and
is forgotten, so that the next socket to come subscribes afresh.
"""

import asyncio
import contextlib
import logging
import time
import weakref
from collections import Counter

from chat import events, presence, protocol
from chat.limits import admission
from chat.outages import LAYER_OUTAGES
from ops import metrics

logger = logging.getLogger(__name__)

# How often a room cut off from the layer tries to take its channel out of the group.
LEAVE_RETRY_SECONDS = 2
# How often a room with a crowd's joins to announce looks whether the crowd is in.
SETTLE_SECONDS = 0.2
# How long after it was read one reading of a room's history may be shared with the
# sockets joining it, at most: a crowd joining at once reads it about once, and a message
# deleted behind the room's back (in the admin) is still shown to newcomers for no longer
# than this.
SHARED_HISTORY_SECONDS = 1
# How long the names listed to a socket joining a big room may be listed to those joining
# after it: each of a crowd would otherwise go through the whole list. Its other sockets'
# lists are as old as the last renewal.
SHARED_LIST_SECONDS = 1


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
        self.history_changes = 0
        self.settling = None  # the task that announces a crowd once it is in
        self.history = None  # the last SharedReading of the room's history
        self.shared_list = None  # (names, when) listed to a socket joining a big room

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
        for task in [*self.tasks, self.settling]:
            if task is not None and task is not current:
                task.cancel()
        self.tasks = []

    # -- Delivery --------------------------------------------------------------------------

    async def deliver_forever(self):
        try:
            while True:
                await self.deliver(await self.layer.receive(self.channel))
        except LAYER_OUTAGES:
            logger.warning("Channel layer unreachable; closing room %s here.", self.group)
            metrics.LAYER_ERRORS.inc()
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
        if event["type"] == events.PRESENCE_EVENT:
            self.told = frozenset(event["online"])
        elif event["type"] in events.HISTORY_CHANGES:
            self.history_changes += 1  # the history read so far lacks it
        delivered = 0
        # A copy: a socket may leave the room while a frame is being written.
        for on_event in list(self.members.values()):
            # One socket's failure must not cost the others their events.
            try:
                await on_event(event)
            except Exception:
                logger.exception("Could not deliver %r in %s.", event["type"], self.group)
            else:
                delivered += 1
        if event["type"] == protocol.CHAT_MESSAGE:
            # Counted here, once per message: the consumers write messages straight to
            # their sockets (ChatConsumer.room_event), and count the other frames they send.
            metrics.DELIVERIES.inc(delivered)
            if "received" in event:
                metrics.DELIVERY_SECONDS.observe(time.time() - event["received"])

    async def lost(self):
        # The room's events can no longer reach these sockets: tell each, so that it
        # closes rather than wait in silence.
        self.stop()
        self.tasks = [asyncio.create_task(self.leave_group_once_back())]
        await self.deliver({"type": events.UNAVAILABLE_EVENT})
        self.members.clear()

    async def leave_group_once_back(self):
        # Until the lost channel leaves the group, Redis keeps queueing the room's events
        # for it, with nobody to read them.
        while True:
            await asyncio.sleep(LEAVE_RETRY_SECONDS)
            with contextlib.suppress(*LAYER_OUTAGES):
                await self.layer.group_discard(self.group, self.channel)
                return

    # -- History ---------------------------------------------------------------------------

    def shared_history(self, read):
        """What ``read()`` gives (the room's latest history page, encoded), shared by the
        sockets that join while no message, edit or delete is delivered here (up to
        SHARED_HISTORY_SECONDS after it was read).

        A socket asks once it is a member: a message delivered after a shared reading
        began, which that reading may lack, reaches it live.
        """
        if self.history is None or not self.history.may_serve(self.history_changes):
            self.history = SharedReading(read, self.history_changes)
        return asyncio.shield(self.history.reading)

    # -- Renewals --------------------------------------------------------------------------

    async def every(self, interval, renew, what):
        while True:
            await asyncio.sleep(interval)
            try:
                await renew()
            except LAYER_OUTAGES:
                metrics.LAYER_ERRORS.inc()
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
        # again when it changed. A crowd joining this process at once makes the room big
        # before the list says so: each of them would otherwise be announced to the rest.
        return max(len(self.online), len(self.members)) > presence.ANNOUNCE_LIMIT

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

    def presence_for_joiner(self, online, name, *, joined=None):
        """The presence frame sent to a socket joining under ``name`` (and announced as
        ``joined``, if it is news). In a big room its names are shared for
        SHARED_LIST_SECONDS, ``name`` put in its place among them; its count is exact."""
        if not self.is_big():
            return protocol.presence(online, joined=joined)
        now = time.monotonic()
        if self.shared_list is None or now - self.shared_list[1] >= SHARED_LIST_SECONDS:
            self.shared_list = (protocol.first_online(online), now)
        users = self.shared_list[0]
        if name not in users:
            users = sorted([*users, name], key=str.casefold)[: protocol.MAX_PRESENCE_LISTED]
        return protocol.presence(online, joined=joined, users=users)

    def announce_once_settled(self):
        """Tell the whole room who is online once no socket waits to join this process
        (chat.limits.admission): one frame for a crowd's joins."""
        if self.settling is None or self.settling.done():
            self.settling = asyncio.create_task(self.announce_when_settled())

    async def announce_when_settled(self):
        while admission.admission().crowded():
            await asyncio.sleep(SETTLE_SECONDS)
        try:
            online = await self.presence.users(self.group)
            await self.layer.group_send(self.group, presence_event(online))
        except LAYER_OUTAGES:
            metrics.LAYER_ERRORS.inc()
            logger.warning("Channel layer unreachable; %s not told who came.", self.group)
        except Exception:
            logger.exception("Could not tell %s who came.", self.group)

    # -- Members ---------------------------------------------------------------------------

    async def leave(self, channel_name):
        """Unsubscribe a socket; the room's last socket here takes the subscription along."""
        self.members.pop(channel_name, None)
        if self.members or self.closed:
            return
        self.stop()
        try:
            await self.layer.group_discard(self.group, self.channel)
        except LAYER_OUTAGES:
            self.tasks = [asyncio.create_task(self.leave_group_once_back())]
            raise


class SharedReading:
    """One reading of a room's history, shared by the sockets that join meanwhile."""

    def __init__(self, read, history_changes):
        self.history_changes = history_changes  # the room's count when it began
        self.read_at = None
        self.reading = asyncio.ensure_future(self.read_and_note_when(read))

    async def read_and_note_when(self, read):
        # Noted before the reading is done, so that whoever sees it done sees when, too.
        page = await read()
        self.read_at = time.monotonic()
        return page

    def may_serve(self, history_changes):
        """Whether a socket joining now may have this reading: no message, edit or delete
        was delivered since it began, and it is still under way (a slow database is read
        once, not once a second), or succeeded under SHARED_HISTORY_SECONDS ago."""
        if history_changes != self.history_changes:
            return False
        if not self.reading.done():
            return True
        if self.reading.cancelled() or self.reading.exception() is not None:
            return False
        return time.monotonic() - self.read_at < SHARED_HISTORY_SECONDS


def presence_event(online, *, joined=None, left=None):
    """The room event that brings its sockets a presence frame, encoded once."""
    return {
        "type": events.PRESENCE_EVENT,
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
        metrics.ROOMS_OPEN.dec()


async def join(layer, group, channel_name, on_event):
    """Subscribe a socket to its room; return the room. From when this returns until
    room.leave(channel_name), every event sent to the group is awaited as
    on_event(event), in the order sent; if the room's subscription is lost, a last
    event of UNAVAILABLE_EVENT says so."""
    rooms = _rooms()
    # Another socket may be opening the room here: wait for it rather than open it twice.
    while (room := rooms.get(group)) is not None and not room.opened.is_set():
        await room.opened.wait()
    if room is None:
        room = rooms[group] = LocalRoom(layer, group)
        metrics.ROOMS_OPEN.inc()
        try:
            await room.open()
        except BaseException:
            _forget(room)
            raise
    room.members[channel_name] = on_event
    return room
