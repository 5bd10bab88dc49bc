"""Limits on HTTP connections that only a real server applies (ops/server.py): time to
send a request, and the size of its body."""

import asyncio
import contextlib
import time

import pytest
from websockets.asyncio.client import connect

from testing.processes import HOST, ORIGIN
from testing.servers import receive, room_url

# The servers' database is emptied after each test, as the server may write to it.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server(start_module_server):
    return start_module_server(CHAT_HANDSHAKE_TIMEOUT="1", CHAT_MAX_REQUEST_BODY="1000")


# A form post as a browser sends it, but for the size its body claims.
POST_HEADERS = (
    "POST /accounts/login/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\n{length}\r\n"
)


async def closed_within(reader, seconds):
    """Whether the server closes the connection (after any response) within ``seconds``;
    return what it sent."""
    with contextlib.suppress(ConnectionError):
        return await asyncio.wait_for(reader.read(), timeout=seconds)
    return b""


@pytest.mark.parametrize(
    "request_start",
    [b"", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"],
    ids=["says-nothing", "never-finishes-its-headers"],
)
async def test_a_connection_that_never_completes_its_request_is_closed(server, request_start):
    reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write(request_start)
    opened = time.monotonic()

    async def trickle():
        # A byte at a time, each well within any idle timeout.
        with contextlib.suppress(ConnectionError):
            while True:
                await asyncio.sleep(0.2)
                writer.write(b"X")
                await writer.drain()

    trickling = asyncio.create_task(trickle())
    try:
        assert await closed_within(reader, 10) == b""
    finally:
        trickling.cancel()
        writer.close()
    assert time.monotonic() - opened < 5


async def test_a_kept_alive_connection_has_the_same_time_for_its_next_request(server):
    reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write(f"GET /accounts/login/ HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
    answered = time.monotonic()

    await closed_within(reader, 10)
    writer.close()

    assert time.monotonic() - answered < 5


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_over_the_limit_is_refused_before_it_is_read(server, chunked):
    reader, writer = await asyncio.open_connection(HOST, server.port)
    if chunked:
        # No length given: the body is counted as it comes.
        writer.write(
            POST_HEADERS.format(host=HOST, length="Transfer-Encoding: chunked\r\n").encode()
        )
        writer.write(b"400\r\n" + b"x" * 1024 + b"\r\n")
    else:
        # A claim of a gigabyte, of which nothing is sent.
        writer.write(POST_HEADERS.format(host=HOST, length=f"Content-Length: {2**30}\r\n").encode())

    response = await closed_within(reader, 10)
    writer.close()

    assert response.startswith(b"HTTP/1.1 413")


async def test_a_body_within_the_limit_reaches_django(server):
    reader, writer = await asyncio.open_connection(HOST, server.port)
    body = "username=alice&password=" + "x" * 900
    writer.write(
        POST_HEADERS.format(host=HOST, length=f"Content-Length: {len(body)}\r\n").encode()
        + body.encode()
    )

    response = await closed_within(reader, 10)
    writer.close()

    # Django's answer: the form has no CSRF token.
    assert response.startswith(b"HTTP/1.1 403")


async def test_a_websocket_outlives_the_request_deadline(server, room):
    url = room_url(server, room)
    async with connect(url, origin=ORIGIN) as websocket:
        await asyncio.sleep(3)
        await websocket.send('{"message": "still open"}')
        assert (await receive(websocket, "chat.message"))["message"] == "still open"
