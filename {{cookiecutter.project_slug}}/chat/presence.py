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

from chat import stores

# Rooms with more users online than this get no join and leave announcements, which
# would cost a frame to every member each time; their sockets' lists refresh instead.
ANNOUNCE_LIMIT = 100
# One user's comings and goings in one room are announced this many at once, then one
# every 1 / ANNOUNCEMENTS_PER_SECOND seconds: a client connecting and disconnecting in a
# loop cannot cost every member a frame per turn. The lists of those not told catch up
# at the next renewal, which reads the list whenever it changed.
ANNOUNCEMENTS_BURST = 4
ANNOUNCEMENTS_PER_SECOND = 0.1


# Typing notices from one socket reach the room at most this often, in seconds.
TYPING_INTERVAL = 2


def refresh_interval():
    # Three renewals per lifetime: an entry survives a late or lost one.
    return settings.CHAT_PRESENCE_TTL / 3


def online(entries, now):
    """How many live sockets each display name has, from (name, expires) entries."""
    return Counter(name for name, expires in entries if expires > now)


def store_for(layer):
    """The presence store of this event loop (chat.stores)."""
    return stores.store("presence", layer)


class TypingPace:
    """One socket's typing notices: at most one every TYPING_INTERVAL reaches the room."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.last = float("-inf")

    def may_announce(self):
        now = self.clock()
        if now - self.last < TYPING_INTERVAL:
            return False
        self.last = now
        return True
