"""How many sockets join their room at once in this server process, and how long the
others wait.

Every restart, outage and network blip makes all clients reconnect together, and a join
is the expensive moment of a socket's life: its name, its count against the caps, the
room's history and who is online. Joined all at once, a crowd would each hold a Redis
connection, a database thread and a share of the CPU, and each would take as long as the
whole crowd. Here JOINS_AT_ONCE of them join at a time, in the order they came, and the
others wait their turn before their handshake is accepted. A socket is refused with "try
again later" (the clients reconnect after a random delay) when CHAT_MAX_WAITING_JOINS are
waiting already, or once it has waited WAIT_SECONDS: soon after, daphne would drop its
handshake unanswered.
"""

import asyncio
import contextlib
import weakref

from django.conf import settings

# Enough to keep the database and Redis busy while a join waits on either.
JOINS_AT_ONCE = 16
# Under daphne's --websocket_connect_timeout (5 s), after which the handshake is dropped.
WAIT_SECONDS = 3

_admissions = weakref.WeakKeyDictionary()  # event loop -> its Admission


class Busy(Exception):
    """Too many sockets are waiting to join: try again later."""


class Admission:
    def __init__(self):
        self.slots = asyncio.Semaphore(JOINS_AT_ONCE)
        self.waiting = 0

    def crowded(self):
        """Whether sockets are waiting their turn: a crowd is joining."""
        return self.waiting > 0

    @contextlib.asynccontextmanager
    async def turn(self):
        """Wait for this socket's turn to join; Busy if too many are waiting already, or
        the turn does not come within WAIT_SECONDS."""
        if self.slots.locked() and self.waiting >= settings.CHAT_MAX_WAITING_JOINS:
            raise Busy
        self.waiting += 1
        try:
            async with asyncio.timeout(WAIT_SECONDS):
                await self.slots.acquire()
        except TimeoutError:
            raise Busy from None
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self.slots.release()


def admission():
    """This event loop's admission: a Semaphore belongs to the loop it is used on."""
    loop = asyncio.get_running_loop()
    if loop not in _admissions:
        _admissions[loop] = Admission()
    return _admissions[loop]
