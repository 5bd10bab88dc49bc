"""Who is online in each room.

Every socket holds an entry in its room that expires unless the socket refreshes it, so
entries of a server process that died go away by themselves. A user with several tabs
has several entries and is listed once.
{%- if cookiecutter.channel_layer == "redis" %}
Entries live in Redis, so that every server process sees the same rooms.
{%- else %}
Entries live in this process's memory, like the in-memory channel layer's groups.
{%- endif %}
"""

{% if cookiecutter.channel_layer == "redis" -%}
import asyncio
import json
import math
import time
import weakref
from collections import Counter

import redis.asyncio
from django.conf import settings
{%- else -%}
import time
from collections import Counter

from django.conf import settings
{%- endif %}


def refresh_interval():
    # Three refreshes per lifetime: an entry survives a late or lost one.
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
        _clients[loop] = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    return _clients[loop]


def _key(group):
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    return f"{prefix}:presence:{group}"


async def _update(group, add=None, remove=None):
    """Apply a change to the room's entries and return who is online."""
    key = _key(group)
    now = time.time()
    async with _client().pipeline(transaction=True) as pipe:
        if add is not None:
            pipe.zadd(key, {json.dumps(add): now + settings.CHAT_PRESENCE_TTL})
        if remove is not None:
            pipe.zrem(key, json.dumps(remove))
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zrange(key, 0, -1, withscores=True)
        pipe.expire(key, math.ceil(settings.CHAT_PRESENCE_TTL * 2))
        *_, members, _ = await pipe.execute()
    return online(((json.loads(member)[1], expires) for member, expires in members), now)


async def join(group, channel_name, display_name):
    """Add this socket's entry; return how many sockets each user online has."""
    return await _update(group, add=[channel_name, display_name])


async def leave(group, channel_name, display_name):
    return await _update(group, remove=[channel_name, display_name])


async def refresh(group, channel_name, display_name):
    """Renew this socket's entry, cheaply: return how many entries the room has, and
    whether any expired. Only a change in either is worth reading the whole list for."""
    key = _key(group)
    now = time.time()
    async with _client().pipeline(transaction=True) as pipe:
        pipe.zadd(key, {json.dumps([channel_name, display_name]): now + settings.CHAT_PRESENCE_TTL})
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zcard(key)
        pipe.expire(key, math.ceil(settings.CHAT_PRESENCE_TTL * 2))
        _, expired, entries, _ = await pipe.execute()
    return entries, expired > 0


async def users(group):
    return await _update(group)
{%- else %}


# group -> {channel name: (display name, expires)}
_rooms = {}


def _users(group):
    now = time.monotonic()
    entries = _rooms.get(group, {})
    for channel_name in [name for name, (_, expires) in entries.items() if expires <= now]:
        del entries[channel_name]
    if not entries:
        _rooms.pop(group, None)
    return online(entries.values(), now)


async def join(group, channel_name, display_name):
    """Add this socket's entry; return how many sockets each user online has."""
    expires = time.monotonic() + settings.CHAT_PRESENCE_TTL
    _rooms.setdefault(group, {})[channel_name] = (display_name, expires)
    return _users(group)


async def leave(group, channel_name, display_name):
    _rooms.get(group, {}).pop(channel_name, None)
    return _users(group)


async def refresh(group, channel_name, display_name):
    """Renew this socket's entry: return how many entries the room has, and whether any
    expired. Only a change in either is worth reading the whole list for."""
    entries = _rooms.get(group, {})
    before = len(entries)
    online_now = await join(group, channel_name, display_name)
    return sum(online_now.values()), len(_rooms.get(group, {})) < before


async def users(group):
    return _users(group)
{%- endif %}
