"""What the stores kept in Redis beside the channel layer (presence, socket counts, flood
limits) share: one client per Redis server of the layer and event loop, a key's server
chosen as the layer chooses a group's, and a bound on the calls each server runs at once.

With several Redis servers (REDIS_URL listing several), channels-redis keeps each group on
one of them by a consistent hash of its name; a key here goes to the server its hash
names, so a room's presence sits beside its group.

redis-py opens a new connection whenever every pooled one is busy, and keeps it. A crowd
of sockets joining or leaving at once would open one each, hundreds per server process,
each costing a connection handshake here and a client in Redis, for commands that take
Redis microseconds. At most CALLS_AT_ONCE calls run at once on each server; the rest wait
their turn, and the pools stay that small. A call that gets no answer within
CALL_TIMEOUT fails as an outage does (chat.outages), so a server that stops answering
holds up its own calls only.
"""

import asyncio
import contextlib
import weakref

import redis.asyncio
from channels_redis.utils import create_pool

CALLS_AT_ONCE = 16
CALL_TIMEOUT = 5

_shared = weakref.WeakKeyDictionary()  # event loop -> {layer: Shared}


class Shared:
    def __init__(self, layer):
        self.layer = layer
        # The layer's own connection settings, so that a Sentinel failover is followed here
        # as it is by the layer; with timeouts, which the layer's blocking reads cannot have.
        self.clients = [
            redis.asyncio.Redis(
                connection_pool=create_pool(
                    {**host, "socket_timeout": CALL_TIMEOUT, "socket_connect_timeout": CALL_TIMEOUT}
                )
            )
            for host in layer.hosts
        ]
        self.slots = [asyncio.Semaphore(CALLS_AT_ONCE) for _ in layer.hosts]
        self.scripts = {}  # (server index, source) -> its script

    def index(self, key):
        return self.layer.consistent_hash(key)

    def client(self, key):
        """The client of the Redis server that keeps ``key``."""
        return self.clients[self.index(key)]

    def slot(self, key):
        """A slot for a call to the Redis server that keeps ``key``: ``async with`` it."""
        return self.slots[self.index(key)]

    @contextlib.asynccontextmanager
    async def pipeline(self, key, *, transaction):
        """A pipeline to the Redis server that keeps ``key``, run in one of its slots."""
        async with self.slot(key), self.client(key).pipeline(transaction=transaction) as pipe:
            yield pipe

    def script(self, key, source):
        """The Lua script ``source``, to run on the Redis server that keeps ``key``."""
        index = self.index(key)
        if (index, source) not in self.scripts:
            self.scripts[index, source] = self.clients[index].register_script(source)
        return self.scripts[index, source]


def shared(layer):
    """This event loop's clients of ``layer``'s Redis servers, and its slots for calls."""
    by_layer = _shared.setdefault(asyncio.get_running_loop(), {})
    if layer not in by_layer:
        by_layer[layer] = Shared(layer)
    return by_layer[layer]
