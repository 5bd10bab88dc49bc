"""Password hashing that does not hold up the chat.

Hashing a password at full strength takes a core for a good fraction of a second, by
design. Hashed as they come, a burst of logins would take every core, and the event loop
that delivers every message of every room on the process would wait for CPU time; and a
login holding one of the database pool's connections while it hashes would keep saving
messages waiting for a free connection.

Here a server process hashes one password at a time, leaving the chat the rest of the
machine, and a login or sign-up gives its database connections back before it hashes
(or waits to). Logins in a burst queue for their turn instead.
"""

import threading

from django.contrib.auth import hashers
from django.db import connections

_one_at_a_time = threading.Lock()


class PBKDF2PasswordHasher(hashers.PBKDF2PasswordHasher):
    """Django's default hasher, the same algorithm and stored format, one password at a
    time per process."""

    def encode(self, password, salt, iterations=None):
        release_database_connections()
        with _one_at_a_time:
            return super().encode(password, salt, iterations)


def release_database_connections():
    """Give this thread's database connections back (to the pool, where there is one);
    the next query takes one again. Not inside a transaction, which needs its own."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
