"""Socket counts in Redis, shared by every server process, for projects on
channels-redis.

Each owner's sockets are one sorted set of channel names, scored by expiry time, under
the channel layer's key prefix. A server process renews the entries of the sockets it
holds every CHAT_PRESENCE_TTL / 3 seconds, so the sockets of a process that died stop
counting after CHAT_PRESENCE_TTL, as they drop out of presence.
"""

import asyncio
import math

import redis.asyncio
from django.conf import settings

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
        # The layer's own connection settings, so that a Sentinel failover is followed here
        # as it is by the layer.
        self.client = redis.asyncio.Redis(connection_pool=layer.create_pool(0))
        self.prefix = layer.prefix
        self.add_socket = self.client.register_script(ADD_SOCKET)
        self.renew_sockets = self.client.register_script(RENEW_SOCKETS)
        self.held = {}  # channel name -> owners' keys, of this process's sockets
        self.renewing = None

    def _keys(self, owners):
        return [f"{self.prefix}:sockets:{owner}" for owner in owners]

    async def add(self, owners, channel_name):
        """Count the socket ``channel_name`` against each of ``owners`` ({owner: cap}) and
        return True, or return False, counting nothing, if any owner is at its cap."""
        keys = self._keys(owners)
        ttl = settings.CHAT_PRESENCE_TTL
        if not await self.add_socket(keys=keys, args=[channel_name, ttl, *owners.values()]):
            return False
        self.held[channel_name] = keys
        if self.renewing is None or self.renewing.done():
            self.renewing = asyncio.create_task(self.renew_while_held())
        return True

    async def remove(self, owners, channel_name):
        self.held.pop(channel_name, None)
        async with self.client.pipeline(transaction=False) as pipe:
            for key in self._keys(owners):
                pipe.zrem(key, channel_name)
            await pipe.execute()

    async def renew_while_held(self):
        while self.held:
            await asyncio.sleep(refresh_interval())
            keys, sockets = [], []
            for channel_name, owner_keys in self.held.items():
                keys += owner_keys
                sockets += [channel_name] * len(owner_keys)
            if keys:
                # A failed renewal is tried again at the next; the entries outlive two.
                try:
                    await self.renew_sockets(
                        keys=keys, args=[math.ceil(settings.CHAT_PRESENCE_TTL), *sockets]
                    )
                except (redis.RedisError, OSError):
                    continue
