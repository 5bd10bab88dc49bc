"""How many sockets one client may hold open: at most CHAT_MAX_SOCKETS_PER_SENDER for a
sender (a logged-in user, or a guest's session) and CHAT_MAX_SOCKETS_PER_ADDRESS for a
client address, counted where the channel layer keeps its groups: in this process's
memory with the in-memory layer, in Redis with channels-redis (chat.socket_caps_redis),
where every server process counts the same sockets.

A socket over either cap is refused with CLOSE_TOO_MANY_SOCKETS.
"""

from collections import Counter

from django.conf import settings

from chat import layer_stores


def caps(sender, address):
    """{owner: cap} for a socket of ``sender`` from ``address`` (chat.ratelimit keys)."""
    owners = {address: settings.CHAT_MAX_SOCKETS_PER_ADDRESS}
    if sender != address:
        owners[sender] = settings.CHAT_MAX_SOCKETS_PER_SENDER
    return owners


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


def counts_for(layer):
    """The socket counts that go with the channel layer ``layer``."""
    return layer_stores.store_for(
        layer, MemorySocketCounts, "chat.socket_caps_redis.RedisSocketCounts"
    )
