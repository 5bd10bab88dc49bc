"""One channel-layer subscription per room and server process.

The Channels tutorial adds every socket to its room's group, so a message to a room of N
sockets becomes N messages in the channel layer{% if cookiecutter.channel_layer == "redis" %} (N pushes into Redis and N reads back){% endif %}
and N consumer tasks woken up, one per socket. Here each server process joins the
group once, with a channel of its own, and hands each message, encoded once by its
sender, to all its sockets in that room in one pass. Anything that sends to the room's
group (a consumer, a view, a management command) reaches every socket as before.

The process renews its membership well within the channel layer's group expiry, so a
room that stays open for days keeps receiving.
"""

import asyncio
{%- if cookiecutter.channel_layer == "redis" %}
import contextlib
{%- endif %}
import logging
import weakref

{% if cookiecutter.channel_layer == "redis" -%}
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

{% endif -%}
logger = logging.getLogger(__name__)
{%- if cookiecutter.channel_layer == "redis" %}

# What the channel layer, and redis-py under it, raise while Redis cannot be reached.
LAYER_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)

# The event a room's sockets get when its messages can no longer reach them.
UNAVAILABLE = {"type": "chat.unavailable"}
# How often a room cut off from Redis tries to take its channel out of the group.
LEAVE_RETRY_SECONDS = 2
{%- endif %}


class LocalRoom:
    """This process's sockets in one room, and the channel that receives the room's
    messages for them."""

    def __init__(self, layer, group):
        self.layer = layer
        self.group = group
        self.members = {}  # channel name -> on_event
        self.channel = None
        self.opened = asyncio.Event()  # set once open() is over, whether it worked or not
        self.delivering = self.renewing = None

    async def open(self):
        try:
            self.channel = await self.layer.new_channel()
            await self.layer.group_add(self.group, self.channel)
        finally:
            self.opened.set()
        self.delivering = asyncio.create_task(self.deliver_forever())
        self.renewing = asyncio.create_task(self.renew_forever())

    async def close(self):
        self.delivering.cancel()
        self.renewing.cancel()
        await self.layer.group_discard(self.group, self.channel)

    async def deliver_forever(self):
{%- if cookiecutter.channel_layer == "redis" %}
        try:
            while True:
                await self.deliver(await self.layer.receive(self.channel))
        except LAYER_UNAVAILABLE:
            logger.warning("Channel layer unreachable; closing room %s here.", self.group)
            await self.lost()
        except Exception:
            logger.exception("Could not receive for room %s; closing it here.", self.group)
            await self.lost()

    async def lost(self):
        # This room's messages can no longer reach these sockets: tell each, so that it
        # closes rather than wait in silence, and let the next socket to come subscribe
        # afresh.
        _forget(self)
        self.renewing.cancel()
        self.renewing = asyncio.create_task(self.leave_group_once_back())
        await self.deliver(UNAVAILABLE)
        self.members.clear()
{%- else %}
        while True:
            await self.deliver(await self.layer.receive(self.channel))
{%- endif %}

{%- if cookiecutter.channel_layer == "redis" %}

    async def leave_group_once_back(self):
        # Until the lost channel leaves the group, Redis keeps queueing the room's messages
        # for it, with nobody to read them.
        while True:
            await asyncio.sleep(LEAVE_RETRY_SECONDS)
            with contextlib.suppress(*LAYER_UNAVAILABLE):
                await self.layer.group_discard(self.group, self.channel)
                return
{%- endif %}

    async def deliver(self, event):
        # A copy: a socket may leave the room while a frame is being written.
        for on_event in list(self.members.values()):
            # One socket's failure must not cost the others their messages.
            try:
                await on_event(event)
            except Exception:
                logger.exception("Could not deliver %r in %s.", event["type"], self.group)

    async def renew_forever(self):
        # A third of the expiry: a renewal that fails once or twice is not yet a loss.
        interval = self.layer.group_expiry / 3
        while True:
            await asyncio.sleep(interval)
{%- if cookiecutter.channel_layer == "redis" %}
            try:
                await self.layer.group_add(self.group, self.channel)
            except LAYER_UNAVAILABLE:
                logger.warning("Channel layer unreachable; room %s not renewed.", self.group)
{%- else %}
            await self.layer.group_add(self.group, self.channel)
{%- endif %}


# One set of local rooms per event loop: channel layers hold loop-bound state.
_local_rooms = weakref.WeakKeyDictionary()


def _rooms():
    return _local_rooms.setdefault(asyncio.get_running_loop(), {})


def _forget(room):
    rooms = _rooms()
    if rooms.get(room.group) is room:
        del rooms[room.group]


async def join(layer, group, channel_name, on_event):
    """Subscribe a socket to its room. From when this returns until leave(), every event
    sent to the group is awaited as on_event(event), in the order sent
    {%- if cookiecutter.channel_layer == "redis" %}; if the room's
    subscription is lost (Redis went away), a last event, UNAVAILABLE, says so
    {%- endif %}."""
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


async def leave(group, channel_name):
    """Unsubscribe a socket; the room's last socket here takes the subscription along."""
    room = _rooms().get(group)
    if room is None or room.members.pop(channel_name, None) is None:
        return
    if not room.members:
        _forget(room)
        await room.close()
