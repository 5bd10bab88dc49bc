"""State that server processes share the way the channel layer shares rooms: in this
process's memory with the in-memory layer, in Redis with channels-redis."""

import asyncio
import importlib
import weakref

from channels.layers import InMemoryChannelLayer

# One store of each kind per event loop: a Redis connection belongs to the loop it was
# made on (and each test runs on a loop of its own).
_stores = weakref.WeakKeyDictionary()


def store_for(layer, memory_store, redis_store):
    """The store that goes with the channel layer ``layer``: ``memory_store()``, or the
    class named by ``redis_store`` ("module.Class", imported only when used: the redis
    package is installed only with channels-redis) made with the layer."""
    stores = _stores.setdefault(asyncio.get_running_loop(), {})
    if redis_store not in stores:
        if isinstance(layer, InMemoryChannelLayer):
            stores[redis_store] = memory_store()
        else:
            module, name = redis_store.rsplit(".", 1)
            stores[redis_store] = getattr(importlib.import_module(module), name)(layer)
    return stores[redis_store]
