"""Presence entries in Redis, shared by every server process, for projects on
channels-redis.

Each room's entries are one sorted set, scored by expiry time, on the Redis the channel
layer uses (Sentinel included), under the layer's own key prefix, so that projects
sharing a Redis keep their rooms apart here too. The key itself expires once nobody
renews it.
"""

import json
import math
import time

from django.conf import settings

from chat import redis_calls
from chat.presence import online


def _member(channel_name, display_name):
    return json.dumps([channel_name, display_name])


class RedisPresence:
    def __init__(self, layer):
        self.layer = layer
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
