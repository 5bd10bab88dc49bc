"""A client that stops reading its socket neither stalls the room nor makes the server
queue data for it without end: daphne's keepalive pings go unanswered and it drops the
connection, freeing what was queued.

ASGI servers that wait in send() until a client has read what it was sent fail here: the
room's fan-out (chat.local_rooms) waits on the stuck socket, and its other members get
nothing more. uvicorn and granian both did."""

import asyncio
import base64
import json
import os
import socket
import time

from websockets.asyncio.client import connect

from testing.processes import HOST, ORIGIN
from testing.servers import receive, room_url

# Shorter than daphne's defaults (20 s and 30 s), which the README's command keeps.
PING_INTERVAL = 1
PING_TIMEOUT = 2
# 6 MB for the stuck socket, in less time than its pings take to time out: more than the
# kernel's buffers on loopback hold, so the server's own buffer for it fills while it is
# still connected (a server that waits in send() stalled the room after 3.8 MB on the
# template's CI machine).
MESSAGES = 60
MESSAGE_LENGTH = 100_000


def open_stuck_socket(port, path):
    """Complete a WebSocket handshake, then never read again."""
    stuck = socket.create_connection((HOST, port))
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    stuck.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: {ORIGIN}\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += stuck.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return stuck


def is_closed_by_server(stuck, timeout=10):
    """Read what is left; True once the server has closed or reset the connection."""
    stuck.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not stuck.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return False


async def test_stuck_reader_is_dropped_and_the_room_goes_on(start_server):
    server = start_server(
        daphne_options=["--ping-interval", str(PING_INTERVAL), "--ping-timeout", str(PING_TIMEOUT)],
        CHAT_RATE_LIMIT_BURST=str(MESSAGES),
        CHAT_MAX_MESSAGE_LENGTH=str(MESSAGE_LENGTH),
    )
    url = room_url(server, "busy")
    stuck = open_stuck_socket(server.port, "/ws/chat/busy/")
    try:
        async with connect(url, origin=ORIGIN) as alice, connect(url, origin=ORIGIN) as bob:
            for number in range(MESSAGES):
                text = f"{number} ".ljust(MESSAGE_LENGTH, "x")
                await alice.send(json.dumps({"message": text}))
                for reader in (alice, bob):
                    frame = await receive(reader, "chat.message", timeout=5)
                    assert frame["message"].startswith(f"{number} ")

            await asyncio.sleep(PING_INTERVAL + PING_TIMEOUT + 2)
            assert is_closed_by_server(stuck)
            await alice.send(json.dumps({"message": "room still fine"}))
            assert (await receive(bob, "chat.message"))["message"] == "room still fine"
    finally:
        stuck.close()
