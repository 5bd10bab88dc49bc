"""Run daphne on uvloop: the server command of production, the tests and the benchmarks.

    python -m config.serve -b 127.0.0.1 -p 8000 config.asgi:application

It takes daphne's own options, and serves with the limits of ops.server.

Twisted, under daphne, registers a socket with the event loop before every write and
unregisters it after, so a message to a room of 100 is 200 trips through the loop's
selector; uvloop makes them in C, for noticeably less CPU per delivered message in big
rooms, and daphne's behaviour is unchanged: the same Twisted reactor buffers and writes
every frame.

When daphne.server is first imported, daphne makes an event loop and runs Twisted's
asyncio reactor on it, unless such a reactor is installed already; so one is installed
here, on uvloop, before daphne is imported. The loop daphne makes then goes unused, and
with it daphne's ASGI_THREADS, which sizes that loop's thread pool (the project's
database calls run on asgiref's own threads).
"""

import uvloop
from twisted.internet import asyncioreactor

asyncioreactor.install(uvloop.new_event_loop())

from daphne.cli import CommandLineInterface  # noqa: E402

from ops.server import ChatServer  # noqa: E402


class ChatCommandLineInterface(CommandLineInterface):
    server_class = ChatServer


if __name__ == "__main__":
    ChatCommandLineInterface.entrypoint()
