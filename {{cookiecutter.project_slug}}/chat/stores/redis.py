"""The stores kept in Redis, shared by every server process, for projects on
channels-redis: presence entries, flood-limit buckets and socket counts, each under the
channel layer's key prefix on the Redis server its key hashes to (chat.stores.redis_calls).

Presence: each room's entries are one sorted set, scored by expiry time; the key itself
expires once nobody renews it.

Flood limits: each sender's bucket is one key, updated by one script so that processes
racing for the same sender's tokens count each one once. The bucket is kept as the time it
will be full again (the generic cell rate algorithm), by Redis's clock, which every process
shares; the key expires then, as a full bucket is no different from none.

Socket counts: each owner's sockets are one sorted set of channel names, scored by expiry
time. A server process renews the entries of the sockets it holds every
CHAT_PRESENCE_TTL / 3 seconds, so the sockets of a process that died stop counting after
CHAT_PRESENCE_TTL, as they drop out of presence.
"""

import asyncio
import contextlib
import json
import math
import time

import redis
from django.conf import settings

from chat.presence import online, refresh_interval
from chat.stores import redis_calls


def _member(channel_name, display_name):
    return json.dumps([channel_name, display_name])


class RedisPresence:
    def __init__(self, layer):
        self.redis = redis_calls.shared(layer)
        self.prefix = layer.prefix

    def _key(self, group):
        return f"{self.prefix}:presence:{group}"

    async def _update(self, group, add=None, remove=None):
        """Apply a change to the room's entries and return who is online."""
        key = self._key(group)
        now = time.time()
        # Beside the room's group, on the same Redis server.
        async with self.redis.pipeline(group, transaction=True) as pipe:
            if add is not None:
                pipe.zadd(key, {_member(*add): now + settings.CHAT_PRESENCE_TTL})
            if remove is not None:
                pipe.zrem(key, _member(*remove))
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zrange(key, 0, -1, withscores=True)
            pipe.expire(key, math.ceil(settings.CHAT_PRESENCE_TTL * 2))
            *_, members, _ = await pipe.execute()
        return online(((json.loads(member)[1], expires) for member, expires in members), now)

    async def add(self, group, channel_name, display_name):
        """Add or renew one socket's entry; return how many sockets each user online has."""
        return await self._update(group, add=(channel_name, display_name))

    async def remove(self, group, channel_name, display_name):
        """Remove one socket's entry; return how many sockets each user online has."""
        return await self._update(group, remove=(channel_name, display_name))

    async def drop(self, group, channel_name, display_name):
        """Remove one socket's entry, without reading the list."""
        async with self.redis.slot(group):
            await self.redis.client(group).zrem(
                self._key(group), _member(channel_name, display_name)
            )

    async def users(self, group):
        return await self._update(group)

    async def renew(self, group, sockets):
        """Renew the entries of {channel name: display name}, cheaply: return how many
        entries the room has, and whether any expired. Only a change in either is worth
        reading the whole list for."""
        key = self._key(group)
        now = time.time()
        expires = now + settings.CHAT_PRESENCE_TTL
        # Beside the room's group, on the same Redis server.
        async with self.redis.pipeline(group, transaction=True) as pipe:
            if sockets:
                pipe.zadd(key, {_member(*socket): expires for socket in sockets.items()})
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zcard(key)
            pipe.expire(key, math.ceil(settings.CHAT_PRESENCE_TTL * 2))
            *_, expired, entries, _ = await pipe.execute()
        return entries, expired > 0


# Tokens arrive every ARGV[1] seconds, up to ARGV[2]; returns 0, or the seconds until a
# token is available, as a string (Redis would truncate a number to an integer).
GCRA_SCRIPT = """
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local full_at = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now) + interval
if full_at - now > tolerance then
    return tostring(full_at - now - tolerance)
end
redis.call('SET', KEYS[1], string.format('%.6f', full_at), 'PX', math.ceil((full_at - now) * 1000))
return '0'
"""


class RedisFloodLimit:
    def __init__(self, layer):
        self.redis = redis_calls.shared(layer)
        self.prefix = layer.prefix

    async def take(self, sender, *, rate, burst):
        """Spend one of ``sender``'s tokens and return 0, or return the seconds until one
        is available."""
        key = f"{self.prefix}:flood:{sender}"
        take_token = self.redis.script(key, GCRA_SCRIPT)
        async with self.redis.slot(key):
            return float(await take_token(keys=[key], args=[1 / rate, burst]))


# KEYS: the owners' keys; ARGV[1]: the socket, ARGV[2]: seconds an entry lives, then each
# owner's cap. Checks every cap, then counts the socket against every owner, or nothing.
ADD_SOCKET = """
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
for i, key in ipairs(KEYS) do
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then
        return 0
    end
end
for _, key in ipairs(KEYS) do
    redis.call('ZADD', key, now + tonumber(ARGV[2]), ARGV[1])
    redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[2]) * 2))
end
return 1
"""

# KEYS: owners' keys; ARGV[1]: seconds an entry lives, then, for each key, its socket.
RENEW_SOCKETS = """
local time = redis.call('TIME')
local expires = tonumber(time[1]) + tonumber(time[2]) / 1000000 + tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
    redis.call('ZADD', key, 'XX', expires, ARGV[1 + i])
    redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[1]) * 2))
end
return 0
"""


class RedisSocketCounts:
    def __init__(self, layer):
        self.redis = redis_calls.shared(layer)
        self.prefix = layer.prefix
        self.held = {}  # channel name -> owners' keys, of this process's sockets
        self.renewing = None

    def _caps(self, owners):
        """{owner's key: cap} of ``owners`` ({owner: cap})."""
        return {f"{self.prefix}:sockets:{owner}": cap for owner, cap in owners.items()}

    def _by_server(self, keys):
        """``keys`` in lists of those on the same Redis server (one list with one server)."""
        servers = {}
        for key in keys:
            servers.setdefault(self.redis.index(key), []).append(key)
        return [servers[index] for index in sorted(servers)]

    async def add(self, owners, channel_name):
        """Count the socket ``channel_name`` against each of ``owners`` ({owner: cap}) and
        return True, or return False, counting nothing, if any owner is at its cap."""
        caps = self._caps(owners)
        ttl = settings.CHAT_PRESENCE_TTL
        counted = []
        # One script per Redis server, each checking and counting its owners at once.
        for keys in self._by_server(caps):
            add_socket = self.redis.script(keys[0], ADD_SOCKET)
            async with self.redis.slot(keys[0]):
                added = await add_socket(keys=keys, args=[channel_name, ttl, *map(caps.get, keys)])
            if not added:
                await self._uncount(counted, channel_name)
                return False
            counted += keys
        self.held[channel_name] = counted
        if self.renewing is None or self.renewing.done():
            self.renewing = asyncio.create_task(self.renew_while_held())
        return True

    async def remove(self, owners, channel_name):
        self.held.pop(channel_name, None)
        await self._uncount(list(self._caps(owners)), channel_name)

    async def _uncount(self, keys, channel_name):
        for same_server in self._by_server(keys):
            async with self.redis.pipeline(same_server[0], transaction=False) as pipe:
                for key in same_server:
                    pipe.zrem(key, channel_name)
                await pipe.execute()

    async def renew_while_held(self):
        while self.held:
            await asyncio.sleep(refresh_interval())
            sockets = {}  # owner's key -> its sockets held here
            for channel_name, owner_keys in self.held.items():
                for key in owner_keys:
                    sockets.setdefault(key, []).append(channel_name)
            for keys in self._by_server(sockets):
                renew_sockets = self.redis.script(keys[0], RENEW_SOCKETS)
                entries = [(key, socket) for key in keys for socket in sockets[key]]
                # A failed renewal is tried again at the next; the entries outlive two.
                with contextlib.suppress(redis.RedisError, OSError):
                    async with self.redis.slot(keys[0]):
                        await renew_sockets(
                            keys=[key for key, _ in entries],
                            args=[math.ceil(settings.CHAT_PRESENCE_TTL), *(s for _, s in entries)],
                        )


# The store contract (chat.stores): the channel layers served, and one factory per kind.
LAYERS = {"channels_redis.core.RedisChannelLayer"}
SHARED_BY_PROCESSES = True


async def ping(layer):
    for index in range(layer.ring_size):
        await layer.connection(index).ping()


def presence(layer):
    return RedisPresence(layer)


def flood_limit(layer):
    return RedisFloodLimit(layer)


def socket_counts(layer):
    return RedisSocketCounts(layer)
