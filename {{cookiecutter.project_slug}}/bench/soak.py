"""Hold many sockets in one room for a while and check that nothing goes wrong.

Starts its own daphne processes of this project (on loopback ports, with the database
and channel layer of your environment: run `manage.py migrate` first), connects
--sockets clients to one room spread across --servers processes, sends --rate messages
a second from a few of the clients, and at the end checks that every client received
every message, that no socket was closed, and that the servers logged no error. Exits 1
if any check fails, 2 if the options are refused. Everything it does is bounded by
--sockets and --seconds.

More than one server needs a channel layer the processes share (Redis): the in-memory
layer carries messages between the sockets of one process only.

    python bench/soak.py --sockets 1000 --seconds 60
"""

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid

from processes import (
    HOST,
    LOAD_TEST_LIMITS,
    ORIGIN,
    Servers,
    raise_open_file_limit,
    require_shared_layer,
)
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

# A sender stays within the default flood limit (2 a second) at one message a second.
MESSAGES_PER_SENDER_PER_SECOND = 1


def whole_number(low, high):
    """An argparse type: a whole number from low to high."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not from {low} to {high}")
        return value

    return parse


class Client:
    def __init__(self, url):
        self.url = url
        self.received = set()
        self.closed = None
        self.websocket = None

    async def open(self):
        self.websocket = await connect(self.url, origin=ORIGIN, open_timeout=60)

    async def listen(self):
        try:
            async for text in self.websocket:
                frame = json.loads(text)
                if frame["type"] == "chat.message":
                    self.received.add(frame["message"])
        except ConnectionClosed as exc:
            self.closed = exc


async def run(args, ports):
    room = f"soak-{uuid.uuid4().hex[:8]}"
    clients = [
        Client(f"ws://{HOST}:{ports[index % len(ports)]}/ws/chat/{room}/")
        for index in range(args.sockets)
    ]
    opening = asyncio.Semaphore(50)

    async def open_client(client):
        async with opening:
            await client.open()

    started = time.monotonic()
    await asyncio.gather(*(open_client(client) for client in clients))
    print(f"{args.sockets} sockets open in {time.monotonic() - started:.1f} s", flush=True)
    listeners = [asyncio.create_task(client.listen()) for client in clients]

    senders = clients[: max(1, round(args.rate / MESSAGES_PER_SENDER_PER_SECOND))]
    sent = []
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        for sender in senders:
            text = f"soak message {len(sent)}"
            await sender.websocket.send(json.dumps({"message": text}))
            sent.append(text)
            await asyncio.sleep(1 / args.rate)
    await asyncio.sleep(5)  # let the last messages arrive

    for client in clients:
        await client.websocket.close()
    await asyncio.gather(*listeners)
    return sent, clients


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for option, low, high, default, meaning in (
        ("--sockets", 1, 5000, 1000, "clients in the room"),
        ("--seconds", 1, 600, 60, "how long to send"),
        ("--servers", 1, 8, 1, "server processes"),
    ):
        parser.add_argument(
            option,
            type=whole_number(low, high),
            default=default,
            metavar="N",
            help=f"{meaning}, {low} to {high} (default: %(default)s)",
        )
    parser.add_argument(
        "--rate", type=float, default=2, help="messages a second, in all (default: %(default)s)"
    )
    args = parser.parse_args()
    require_shared_layer(parser, args.servers)
    raise_open_file_limit(args.sockets)

    with tempfile.TemporaryDirectory() as log_dir:
        with Servers(log_dir, env=LOAD_TEST_LIMITS) as servers:
            ports = [servers.start_daphne(f"server-{n}").port for n in range(args.servers)]
            sent, clients = asyncio.run(run(args, ports))
        log_errors = servers.log_errors()

    missing = sum(len(set(sent) - client.received) for client in clients)
    # Closing cleanly ends a listener without an exception: these were closed by a server.
    dropped = [client.closed for client in clients if client.closed]
    print(f"messages sent: {len(sent)}, deliveries expected: {len(sent) * len(clients)}")
    print(f"deliveries missing: {missing}")
    print(f"sockets closed by a server: {len(dropped)}")
    print(f"error lines in server logs: {len(log_errors)}")
    for line in log_errors[:20]:
        print(f"  {line}")
    return 0 if not (missing or dropped or log_errors) else 1


if __name__ == "__main__":
    sys.exit(main())
