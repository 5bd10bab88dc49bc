"""Socket counts in Redis, shared by every server process, for projects on
channels-redis.

Each owner's sockets are one sorted set of channel names, scored by expiry time, under
the channel layer's key prefix. A server process renews the entries of the sockets it
holds every CHAT_PRESENCE_TTL / 3 seconds, so the sockets of a process that died stop
counting after CHAT_PRESENCE_TTL, as they drop out of presence.
"""

import asyncio
import contextlib
import math

import redis
from django.conf import settings

from chat import redis_calls
from chat.presence import refresh_interval

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
        self.layer = layer
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
