"""Who is online in each room.

Every socket holds an entry in its room that expires unless it is renewed, so entries of
a server process that died go away by themselves. A user with several tabs has several
entries and is listed once.
{%- if cookiecutter.channel_layer == "redis" %}
Entries live in Redis, so that every server process sees the same rooms.
{%- else %}
Entries live in this process's memory, like the in-memory channel layer's groups.
{%- endif %}

Each server process renews the entries of its own sockets in a room together, and when
the list changed without an announcement to the room (entries of a dead process expiring,
joins and leaves in a room too big to announce), reads it once and passes it to each of
its sockets. So a renewal costs one round trip per room and process, whatever the size
of the room, instead of one list read per socket. In rooms too big to announce joins and
leaves, a socket's join or leave only writes its entry, and takes the list from the one
this process last read.
"""

import asyncio
{%- if cookiecutter.channel_layer == "redis" %}
import json
import logging
import math
{%- endif %}
import time
import weakref
from collections import Counter

{% if cookiecutter.channel_layer == "redis" -%}
import redis.asyncio
import redis.asyncio.sentinel
{% endif -%}
from django.conf import settings

from chat import protocol
{%- if cookiecutter.channel_layer == "redis" %}
from chat.fanout import LAYER_UNAVAILABLE

logger = logging.getLogger(__name__)
{%- endif %}

# Rooms with more users online than this get no join and leave announcements, which
# would cost a frame to every member each time; their sockets' lists refresh instead.
ANNOUNCE_LIMIT = 100


def refresh_interval():
    # Three renewals per lifetime: an entry survives a late or lost one.
    return settings.CHAT_PRESENCE_TTL / 3


def online(entries, now):
    """How many live sockets each display name has, from (name, expires) entries."""
    return Counter(name for name, expires in entries if expires > now)
{%- if cookiecutter.channel_layer == "redis" %}


# One client per event loop: a redis.asyncio connection belongs to the loop it was made on.
_clients = weakref.WeakKeyDictionary()


def _client():
    loop = asyncio.get_running_loop()
    if loop not in _clients:
        if settings.REDIS_SENTINELS:
            sentinel = redis.asyncio.sentinel.Sentinel(settings.REDIS_SENTINELS)
            _clients[loop] = sentinel.master_for(settings.REDIS_SENTINEL_MASTER)
        else:
            _clients[loop] = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    return _clients[loop]


def _key(group):
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    return f"{prefix}:presence:{group}"


def _member(channel_name, display_name):
    return json.dumps([channel_name, display_name])


async def _update(group, add=None, remove=None):
    """Apply a change to the room's entries and return who is online."""
    key = _key(group)
    now = time.time()
    async with _client().pipeline(transaction=True) as pipe:
        if add is not None:
            pipe.zadd(key, {_member(*add): now + settings.CHAT_PRESENCE_TTL})
        if remove is not None:
            pipe.zrem(key, _member(*remove))
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zrange(key, 0, -1, withscores=True)
        pipe.expire(key, math.ceil(settings.CHAT_PRESENCE_TTL * 2))
        *_, members, _ = await pipe.execute()
    return online(((json.loads(member)[1], expires) for member, expires in members), now)


async def add_entry(group, channel_name, display_name):
    """Add or renew one socket's entry; return how many sockets each user online has."""
    return await _update(group, add=(channel_name, display_name))


async def remove_entry(group, channel_name, display_name):
    return await _update(group, remove=(channel_name, display_name))


async def drop_entry(group, channel_name, display_name):
    """Remove one socket's entry, without reading the list."""
    await _client().zrem(_key(group), _member(channel_name, display_name))


async def users(group):
    return await _update(group)


async def renew_entries(group, sockets):
    """Renew the entries of {channel name: display name}, cheaply: return how many
    entries the room has, and whether any expired. Only a change in either is worth
    reading the whole list for."""
    key = _key(group)
    now = time.time()
    expires = now + settings.CHAT_PRESENCE_TTL
    async with _client().pipeline(transaction=True) as pipe:
        if sockets:
            pipe.zadd(key, {_member(*socket): expires for socket in sockets.items()})
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zcard(key)
        pipe.expire(key, math.ceil(settings.CHAT_PRESENCE_TTL * 2))
        *_, expired, entries, _ = await pipe.execute()
    return entries, expired > 0
{%- else %}


# group -> {channel name: (display name, expires)}
_entries = {}


def _expire(group, now):
    """Drop the room's expired entries; return whether there were any."""
    entries = _entries.get(group, {})
    expired = [channel_name for channel_name, (_, expires) in entries.items() if expires <= now]
    for channel_name in expired:
        del entries[channel_name]
    if not entries:
        _entries.pop(group, None)
    return bool(expired)


async def add_entry(group, channel_name, display_name):
    """Add or renew one socket's entry; return how many sockets each user online has."""
    expires = time.monotonic() + settings.CHAT_PRESENCE_TTL
    _entries.setdefault(group, {})[channel_name] = (display_name, expires)
    return await users(group)


async def remove_entry(group, channel_name, display_name):
    await drop_entry(group, channel_name, display_name)
    return await users(group)


async def drop_entry(group, channel_name, display_name):
    """Remove one socket's entry, without reading the list."""
    _entries.get(group, {}).pop(channel_name, None)


async def users(group):
    now = time.monotonic()
    _expire(group, now)
    return online(_entries.get(group, {}).values(), now)


async def renew_entries(group, sockets):
    """Renew the entries of {channel name: display name}: return how many entries the
    room has, and whether any expired. Only a change in either is worth reading the
    whole list for."""
    now = time.monotonic()
    expires = now + settings.CHAT_PRESENCE_TTL
    if sockets:
        entries = _entries.setdefault(group, {})
        for channel_name, display_name in sockets.items():
            entries[channel_name] = (display_name, expires)
    expired = _expire(group, now)
    return len(_entries.get(group, {})), expired
{%- endif %}


class LocalRoom:
    """This process's sockets in one room: renews their entries together, and tells them
    of changes to the list that the room was not told of."""

    def __init__(self, group):
        self.group = group
        self.sockets = {}  # channel name -> (display name, notify)
        self.told = frozenset()  # the names every socket here was last told of
        self.online = Counter()  # the list as this process last read or updated it
        self.entries_seen = None
        self.renewing = asyncio.create_task(self.renew_forever())

    async def renew_forever(self):
        while True:
            await asyncio.sleep(refresh_interval())
{%- if cookiecutter.channel_layer == "redis" %}
            try:
                await self.renew()
            except LAYER_UNAVAILABLE:
                # The sockets are being closed with "try again later"; entries that are
                # not renewed expire, as they should.
                logger.warning("Redis unreachable; presence not renewed.", exc_info=True)
{%- else %}
            await self.renew()
{%- endif %}

    async def renew(self):
        names = {channel_name: name for channel_name, (name, _) in self.sockets.items()}
        entries, expired = await renew_entries(self.group, names)
        if entries == self.entries_seen and not expired:
            return
        self.entries_seen = entries
        now_online = self.online = await users(self.group)
        if set(now_online) == self.told:
            return
        self.told = frozenset(now_online)
        frame = protocol.encode(protocol.presence(now_online))
        for _, notify in list(self.sockets.values()):
            await notify(frame)


# One set of local rooms per event loop, like the Redis clients.
_local_rooms = weakref.WeakKeyDictionary()


def _rooms():
    return _local_rooms.setdefault(asyncio.get_running_loop(), {})


def _is_big(room):
    # Nobody is told of joins and leaves in a big room, and reading its whole list for
    # each of a crowd joining at once cost O(N²): 1,000 sockets kept a server busy for
    # over 20 s (bench/README.md). There, joins and leaves only write their entry, and work
    # from the list this process last read; its renewals read it again when it changed.
    return room is not None and len(room.online) > ANNOUNCE_LIMIT


async def join(group, channel_name, display_name, notify):
    """Add a socket of this process to the room; return how many sockets each user online
    has. Until it leaves, notify is awaited with each presence frame (encoded) that
    brings news the room was not told of."""
    if _is_big(_rooms().get(group)):
        await renew_entries(group, {channel_name: display_name})
        room = _local_room(group)
        room.online[display_name] += 1
    else:
        now_online = await add_entry(group, channel_name, display_name)
        room = _local_room(group)
        room.online = now_online
    room.sockets[channel_name] = (display_name, notify)
    return Counter(room.online)


def _local_room(group):
    rooms = _rooms()
    if group not in rooms:
        rooms[group] = LocalRoom(group)
    return rooms[group]


async def leave(group, channel_name):
    """Remove the socket from the room; return who is online now."""
    rooms = _rooms()
    room = rooms[group]
    display_name, _ = room.sockets.pop(channel_name)
    if not room.sockets:
        room.renewing.cancel()
        del rooms[group]
    if not _is_big(room):
        return await remove_entry(group, channel_name, display_name)
    await drop_entry(group, channel_name, display_name)
    room.online[display_name] -= 1
    room.online = +room.online  # without the names whose count fell to 0
    return Counter(room.online)


def told(group, names):
    """Record that the room was told this list of names (every socket here hears it)."""
    room = _rooms().get(group)
    if room is not None:
        room.told = frozenset(names)
