"""What only a real server sees: WebSocket protocol violations and floods, refused by the
server (daphne, ops/server.py) before the consumer, with the room going on for
everyone else."""

import asyncio
import base64
import json
import os
import struct
import time

import pytest
from django.conf import settings
from websockets.asyncio.client import connect

from chat import protocol
from testing.processes import HOST, ORIGIN
from testing.servers import receive, room_url, round_trip, wait_closed

# Daphne (since 4.2.2) refuses messages over 1 MiB; a chat message is far smaller.
DAPHNE_MAX_MESSAGE_BYTES = 1024 * 1024

# The servers' database is emptied after each test, as the server may write to it.
pytestmark = pytest.mark.django_db(transaction=True)


# WebSocket opcodes (RFC 6455).
CONTINUATION, TEXT, CLOSE, PING, PONG = 0x0, 0x1, 0x8, 0x9, 0xA


@pytest.mark.parametrize(
    ("payload", "close_code"),
    [
        pytest.param(
            "x" * (DAPHNE_MAX_MESSAGE_BYTES + 1), protocol.CLOSE_MESSAGE_TOO_BIG, id="too-big"
        ),
        pytest.param(b'{"message": "\xff\xfe"}', protocol.CLOSE_INVALID_TEXT, id="invalid-utf-8"),
    ],
)
async def test_protocol_violation_closes_only_that_socket(server, room, payload, close_code):
    url = room_url(server, room)
    async with (
        connect(url, origin=ORIGIN, max_size=None) as attacker,
        connect(url, origin=ORIGIN) as alice,
        connect(url, origin=ORIGIN) as bob,
    ):
        await attacker.send(payload, text=True)

        # A close frame says why: the connection is not just dropped (1006).
        assert await wait_closed(attacker) == close_code
        await alice.send(json.dumps({"message": "still here"}))
        assert (await receive(bob, "chat.message"))["message"] == "still here"


def client_frame(opcode, payload=b"", fin=True):
    """A masked client frame (with an all-zero mask, which leaves the payload as is)."""
    return bytes([(0x80 if fin else 0) | opcode, 0x80 | len(payload)]) + bytes(4) + payload


async def open_raw_socket(port, room):
    """A WebSocket opened by hand, to send frames no client library would."""
    reader, writer = await asyncio.open_connection(HOST, port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /ws/chat/{room}/ HTTP/1.1\r\nHost: {HOST}:{port}\r\nOrigin: {ORIGIN}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = await reader.readuntil(b"\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 101")
    return reader, writer


async def read_until_closed(reader):
    """Read server frames until the close frame; return its code and the opcodes of the
    frames before it."""
    opcodes = []
    while True:
        first, second = await reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await reader.readexactly(8))
        payload = await reader.readexactly(length)
        if first & 0x0F == CLOSE:
            return struct.unpack("!H", payload[:2])[0], opcodes
        opcodes.append(first & 0x0F)


FLOODS = {
    # One message in a hundred thousand one-byte fragments.
    "fragments": client_frame(TEXT, b"{", fin=False)
    + client_frame(CONTINUATION, b" ", fin=False) * 100_000,
    # A hundred thousand pings, each of which asks for a pong.
    "pings": client_frame(PING) * 100_000,
}


@pytest.mark.parametrize("flood", FLOODS.values(), ids=FLOODS.keys())
async def test_a_flood_of_frames_is_cut_off_and_the_room_goes_on(server, room, flood):
    url = room_url(server, room)
    reader, writer = await open_raw_socket(server.port, room)

    started = time.monotonic()
    writer.write(flood)
    closing = asyncio.create_task(read_until_closed(reader))
    # A bystander's message, sent while the flood arrives, goes round: on a machine busy
    # with other work too, it may take a while.
    assert await round_trip(url, "still here", timeout=30) == "still here"
    close_code, answered = await asyncio.wait_for(closing, timeout=30)
    seconds = time.monotonic() - started
    writer.close()

    assert close_code == protocol.CLOSE_TOO_MANY_FRAMES
    # The server stopped reading once over the limit: it answered no more pings than the
    # burst and what the rate refilled meanwhile, of the hundred thousand sent.
    limit = settings.CHAT_SOCKET_FRAME_BURST + settings.CHAT_SOCKET_FRAMES_PER_SECOND * seconds
    assert answered.count(PONG) <= limit
