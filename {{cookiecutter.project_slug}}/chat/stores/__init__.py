"""State that server processes share the way the channel layer shares rooms: who is online
(chat.presence), flood-limit buckets (chat.limits.flood) and socket counts
(chat.limits.socket_caps).

``settings.CHAT_STORES`` names the module that keeps them, chosen with the channel layer:
``chat.stores.memory`` beside the in-memory layer (one process), ``chat.stores.redis``
beside channels-redis (every process sees the same). The module offers one factory per
kind, each given the channel layer and returning an object with the methods of the
matching protocol below; ping(layer), which fails while the layer's servers cannot be
reached (the readiness probe's check); SHARED_BY_PROCESSES; and LAYERS, the channel layer
backends it serves. A module that cannot be imported, lacks one of these, or does not
serve the configured channel layer stops the server at start-up with a message that says
so (check_configuration, called from chat.apps).
"""

import asyncio
import weakref
from importlib import import_module
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from chat.configured import configured_module

KINDS = ("presence", "flood_limit", "socket_counts")
NAMES = (*KINDS, "ping", "SHARED_BY_PROCESSES", "LAYERS")


class Presence(Protocol):
    async def add(self, group, channel_name, display_name): ...
    async def remove(self, group, channel_name, display_name): ...
    async def drop(self, group, channel_name, display_name): ...
    async def users(self, group): ...
    async def renew(self, group, sockets): ...


class FloodLimit(Protocol):
    async def take(self, sender, *, rate, burst): ...


class SocketCounts(Protocol):
    async def add(self, owners, channel_name): ...
    async def remove(self, owners, channel_name): ...


def check_configuration():
    """Refuse a store module, or a channel layer, that this project does not know."""
    module = configured_module("CHAT_STORES", settings.CHAT_STORES, NAMES)
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    if layer not in module.LAYERS:
        raise ImproperlyConfigured(
            f"CHAT_STORES = {settings.CHAT_STORES!r} does not serve the channel layer {layer}; "
            f"it serves {', '.join(sorted(module.LAYERS))}."
        )


# One store of each kind per event loop: a Redis connection belongs to the loop it was
# made on (and each test runs on a loop of its own).
_stores = weakref.WeakKeyDictionary()


def backend():
    """The store module CHAT_STORES names (checked at start-up by check_configuration)."""
    return import_module(settings.CHAT_STORES)


def store(kind, layer):
    """The store of ``kind`` (one of KINDS) for this event loop, made with ``layer``."""
    stores = _stores.setdefault(asyncio.get_running_loop(), {})
    if kind not in stores:
        stores[kind] = getattr(backend(), kind)(layer)
    return stores[kind]


def shared_by_processes():
    """Whether every server process sees the same rooms, presence and limits: with the
    in-memory layer each process has its own."""
    return backend().SHARED_BY_PROCESSES


async def ping(layer):
    """Return once the servers the channel layer and the stores use answer; fail if one
    cannot be reached."""
    await backend().ping(layer)
