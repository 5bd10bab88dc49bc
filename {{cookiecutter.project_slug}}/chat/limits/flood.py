"""Flood control: a token bucket per sender, shared by all of the sender's sockets, and
kept when they close, so that reconnecting does not refill it.

A sender is a logged-in user, else a guest's session, else the client's address. The
buckets live where the channel layer keeps its groups: in this process's memory with the
in-memory layer (consumers of one process run on one event loop, so they need no lock),
in Redis with channels-redis, where every server process shares them (chat.stores).

Each socket counts its frames with a FloodGuard: over the limit the client is told when to
try again, and after CHAT_RATE_LIMIT_STRIKES frames in a row over it the consumer closes
the socket. The same buckets, under keys of their own, hold the budget of a user's comings
and goings in a room (presence.ANNOUNCEMENTS_*).
"""

import time

from django.conf import settings

from chat import presence, stores
from chat.session_watch import session_tag
from ops import metrics


class TokenBucket:
    """Allows ``burst`` messages at once, refilled at ``rate`` messages a second."""

    def __init__(self, rate, burst, clock=time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.updated = clock()

    def take(self):
        """Spend a token and return 0, or return the seconds until a token is available."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    def is_full(self):
        return self.tokens + (self.clock() - self.updated) * self.rate >= self.burst


def flood_limit_for(layer):
    """The flood limit store of this event loop (chat.stores)."""
    return stores.store("flood_limit", layer)


def sender_key(scope):
    user = scope["user"]
    if user.is_authenticated:
        return user_key(user)
    session_key = scope["session"].session_key
    if session_key:
        return f"session:{session_tag(session_key)}"
    # A client without cookies: its address, which a new socket does not change.
    return address_key(scope)


def user_key(user):
    """A logged-in user's budget: their sockets and their API tokens share it."""
    return f"user:{user.pk}"


def address_key(scope):
    """The client's address (behind the proxy, the one it forwards: daphne's
    --proxy-headers)."""
    client = scope.get("client")
    return f"address:{client[0] if client else 'unknown'}"


class FloodGuard:
    def __init__(self, layer, sender):
        self.limit = flood_limit_for(layer)
        self.sender = sender
        self.strikes = 0  # frames in a row over the limit

    async def take(self):
        """Count one frame: 0 if it may go, else the seconds until one may."""
        retry_after = await self.limit.take(
            self.sender,
            rate=settings.CHAT_RATE_LIMIT_PER_SECOND,
            burst=settings.CHAT_RATE_LIMIT_BURST,
        )
        if not retry_after:
            self.strikes = 0
            return 0
        metrics.RATE_LIMITED.inc()
        self.strikes += 1
        return retry_after

    def struck_out(self):
        """Whether the socket sent so many frames in a row over the limit that it closes."""
        return self.strikes >= settings.CHAT_RATE_LIMIT_STRIKES

    async def may_announce(self, group, name):
        """Whether a coming or going of ``name`` in the room of ``group`` is within their
        announcements' budget there."""
        retry_after = await self.limit.take(
            f"presence:{group}:{name}",
            rate=presence.ANNOUNCEMENTS_PER_SECOND,
            burst=presence.ANNOUNCEMENTS_BURST,
        )
        return not retry_after
