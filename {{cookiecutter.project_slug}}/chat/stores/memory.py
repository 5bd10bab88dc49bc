"""The stores kept in this process's memory, beside the in-memory channel layer's groups:
presence entries, flood-limit buckets and socket counts. Consumers of one process run on
one event loop, so they need no lock."""

import time
from collections import Counter, OrderedDict

from django.conf import settings

from chat.limits.flood import TokenBucket
from chat.presence import online


class MemoryPresence:
    """Entries in this process's memory, beside the in-memory channel layer's groups."""

    def __init__(self):
        self.entries = {}  # group -> {channel name: (display name, expires)}
        # group -> no entry of it expires before this: every join renews an entry, and
        # reading every entry of a big room for each of a crowd joining costs O(N²).
        self.none_expire_before = {}

    def _expire(self, group, now):
        """Drop the room's expired entries; return whether there were any."""
        if now < self.none_expire_before.get(group, now):
            return False
        entries = self.entries.get(group, {})
        expired = [name for name, (_, expires) in entries.items() if expires <= now]
        for channel_name in expired:
            del entries[channel_name]
        if entries:
            self.none_expire_before[group] = min(expires for _, expires in entries.values())
        else:
            self.entries.pop(group, None)
            self.none_expire_before.pop(group, None)
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
            before = self.none_expire_before.get(group, expires)
            self.none_expire_before[group] = min(before, expires)
            entries = self.entries.setdefault(group, {})
            for channel_name, display_name in sockets.items():
                entries[channel_name] = (display_name, expires)
        expired = self._expire(group, now)
        return len(self.entries.get(group, {})), expired


class MemoryFloodLimit:
    """The buckets of this process's senders. A bucket is forgotten once it has refilled,
    when it is no different from a new one."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.buckets = OrderedDict()  # least recently used first

    async def take(self, sender, *, rate, burst):
        """Spend one of ``sender``'s tokens and return 0, or return the seconds until one
        is available."""
        bucket = self.buckets.pop(sender, None) or TokenBucket(rate, burst, self.clock)
        self.buckets[sender] = bucket
        while (oldest := next(iter(self.buckets.values()))) is not bucket and oldest.is_full():
            self.buckets.popitem(last=False)
        return bucket.take()


class MemorySocketCounts:
    def __init__(self):
        self.sockets = Counter()

    async def add(self, owners, channel_name):
        """Count the socket ``channel_name`` against each of ``owners`` ({owner: cap}) and
        return True, or return False, counting nothing, if any owner is at its cap."""
        if any(self.sockets[owner] >= cap for owner, cap in owners.items()):
            return False
        self.sockets.update(owners.keys())
        return True

    async def remove(self, owners, channel_name):
        self.sockets.subtract(owners.keys())
        for owner in owners:
            if self.sockets[owner] <= 0:
                del self.sockets[owner]


# The store contract (chat.stores): the channel layers served, and one factory per kind.
LAYERS = {"channels.layers.InMemoryChannelLayer"}
SHARED_BY_PROCESSES = False


async def ping(layer):
    """Nothing here can go away: it is this process."""


def presence(layer):
    return MemoryPresence()


def flood_limit(layer):
    return MemoryFloodLimit()


def socket_counts(layer):
    return MemorySocketCounts()
