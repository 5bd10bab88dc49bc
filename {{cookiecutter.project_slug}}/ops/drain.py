"""Shutting a server process down without losing a message: the drain.

On SIGTERM the server of `python -m config.serve` (ops.server) drains before it stops:
from then on /readyz answers 503 (ops.health) and new sockets are sent away; every open
socket, once the frame it is handling is done (a message being saved and sent to the
room), is told to reconnect after a delay of its own, spread over CHAT_DRAIN_SPREAD
seconds so that the clients do not all come back in the same second, and closed with
going_away. The drain waits up to CHAT_DRAIN_TIMEOUT seconds for every socket to have
left its room; daphne then stops what is left.
"""

import asyncio
import contextlib
import logging
import random
import time

from django.conf import settings

logger = logging.getLogger(__name__)

# How often the drain looks for sockets still open.
POLL_SECONDS = 0.05

_draining = False
_sockets = set()  # the consumers running in this process


def is_draining():
    return _draining


def reconnect_delay():
    """Seconds a client sent away waits before it reconnects: full jitter."""
    return random.uniform(0, settings.CHAT_DRAIN_SPREAD)  # noqa: S311 (jitter, no secret)


@contextlib.contextmanager
def tracked(consumer):
    """Count ``consumer`` among this process's sockets while it runs."""
    _sockets.add(consumer)
    try:
        yield
    finally:
        _sockets.discard(consumer)


async def drain(timeout):
    """Send every socket of this process away; return once all are closed, or after
    ``timeout`` seconds. Sockets that join a room while the drain runs are sent away too."""
    global _draining
    _draining = True
    logger.info("Draining: sending %d sockets elsewhere.", len(_sockets))
    told = {}  # consumer -> the task telling it
    deadline = time.monotonic() + timeout
    while _sockets and time.monotonic() < deadline:
        for consumer in _sockets - told.keys():
            if consumer.in_room():
                told[consumer] = asyncio.create_task(consumer.go_away(reconnect_delay()))
        await asyncio.sleep(POLL_SECONDS)
    if _sockets:
        logger.warning("Drain timed out with %d sockets still open.", len(_sockets))
    else:
        logger.info("Drained: every socket has left.")
