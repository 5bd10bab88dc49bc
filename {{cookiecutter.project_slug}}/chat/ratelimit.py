"""Flood control: a token bucket per sender, shared by all of the sender's sockets that
this server process holds.

A sender is a logged-in user, else a guest's session, else the socket itself. Consumers
of one process run on one event loop, so the buckets need no lock.
"""

import time
from collections import Counter


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


class SenderBuckets:
    """The bucket of each sender with an open socket, dropped with the last socket."""

    def __init__(self):
        self.buckets = {}
        self.sockets = Counter()

    def acquire(self, sender, *, rate, burst):
        if sender not in self.buckets:
            self.buckets[sender] = TokenBucket(rate, burst)
        self.sockets[sender] += 1
        return self.buckets[sender]

    def release(self, sender):
        self.sockets[sender] -= 1
        if self.sockets[sender] <= 0:
            del self.sockets[sender]
            del self.buckets[sender]


sender_buckets = SenderBuckets()


def sender_key(scope, channel_name):
    user = scope["user"]
    if user.is_authenticated:
        return f"user:{user.pk}"
    session_key = scope["session"].session_key
    if session_key:
        return f"session:{session_key}"
    return f"socket:{channel_name}"
