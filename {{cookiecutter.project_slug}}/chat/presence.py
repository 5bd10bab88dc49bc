"""Who is online in each room: the stores of presence entries.

Every socket holds an entry in its room that expires unless it is renewed, so entries of
a server process that died go away by themselves. A user with several tabs has several
entries and is listed once. The entries live where the channel layer keeps its groups:
in this process's memory with the in-memory layer, in Redis with channels-redis, so that
every server process sees the same rooms.

Each server process's room object (chat.local_rooms) renews its sockets' entries
together and decides when the list is worth reading.
"""

import time
from collections import Counter

from django.conf import settings

from chat import layer_stores

# Rooms with more users online than this get no join and leave announcements, which
# would cost a frame to every member each time; their sockets' lists refresh instead.
ANNOUNCE_LIMIT = 100
# One user's comings and goings in one room are announced this many at once, then one
# every 1 / ANNOUNCEMENTS_PER_SECOND seconds: a client connecting and disconnecting in a
# loop cannot cost every member a frame per turn. The lists of those not told catch up
# at the next renewal, which reads the list whenever it changed.
ANNOUNCEMENTS_BURST = 4
ANNOUNCEMENTS_PER_SECOND = 0.1


def refresh_interval():
    # Three renewals per lifetime: an entry survives a late or lost one.
    return settings.CHAT_PRESENCE_TTL / 3


def online(entries, now):
    """How many live sockets each display name has, from (name, expires) entries."""
    return Counter(name for name, expires in entries if expires > now)


class MemoryPresence:
    """Entries in this process's memory, beside the in-memory channel layer's groups."""

    def __init__(self):
        self.entries = {}  # group -> {channel name: (display name, expires)}

    def _expire(self, group, now):
        """Drop the room's expired entries; return whether there were any."""
        entries = self.entries.get(group, {})
        expired = [name for name, (_, expires) in entries.items() if expires <= now]
        for channel_name in expired:
            del entries[channel_name]
        if not entries:
            self.entries.pop(group, None)
        return bool(expired)

    async def add(self, group, channel_name, display_name):
        """Add or renew one socket's entry; return how many sockets each user online has."""
        await self.renew(group, {channel_name: display_name})
        return await self.users(group)

    async def remove(self, group, channel_name, display_name):
        """Remove one socket's entry; return how many sockets each user online has."""
        await self.drop(group, channel_name, display_name)
        return await self.users(group)

    async def drop(self, group, channel_name, display_name):
        """Remove one socket's entry, without reading the list."""
        self.entries.get(group, {}).pop(channel_name, None)

    async def users(self, group):
        now = time.monotonic()
        self._expire(group, now)
        return online(self.entries.get(group, {}).values(), now)

    async def renew(self, group, sockets):
        """Renew the entries of {channel name: display name}: return how many entries the
        room has, and whether any expired. Only a change in either is worth reading the
        whole list for."""
        now = time.monotonic()
        expires = now + settings.CHAT_PRESENCE_TTL
        if sockets:
            entries = self.entries.setdefault(group, {})
            for channel_name, display_name in sockets.items():
                entries[channel_name] = (display_name, expires)
        expired = self._expire(group, now)
        return len(self.entries.get(group, {})), expired


def store_for(layer):
    """The presence store that goes with the channel layer ``layer``."""
    return layer_stores.store_for(layer, MemoryPresence, "chat.presence_redis.RedisPresence")
