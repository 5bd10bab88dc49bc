"""The drain on SIGTERM (ops.drain): sockets are sent elsewhere, a message being saved is
sent to the room first, and the server exits cleanly."""

import asyncio
import json
import signal
import threading
import time
import urllib.error
import urllib.request

import pytest
from channels.layers import get_channel_layer
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as connect_now

from chat import protocol
from chat.room_names import group_name
from chat.rooms_backend import history
from ops import drain
from testing.processes import HOST, ORIGIN
from testing.servers import STEADY_SENDING, SteadyRoom, receive, room_url, wait_closed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def not_draining(monkeypatch):
    # The drain marks the whole process; each test starts, and leaves it, undrained.
    monkeypatch.setattr(drain, "_draining", False)


async def sent_elsewhere(communicator, settings):
    """Read what a socket sent away receives until its close: a reconnect frame, then the
    going_away close; disconnect as the client would. Return the reconnect delay and the
    frames received before it."""
    before = []
    while (frame := await communicator.receive_json_from())["type"] != protocol.RECONNECT:
        before.append(frame)
    assert 0 <= frame["after"] <= settings.CHAT_DRAIN_SPREAD
    assert await communicator.receive_output() == {
        "type": "websocket.close",
        "code": protocol.CLOSE_GOING_AWAY,
    }
    await communicator.disconnect(code=protocol.CLOSE_GOING_AWAY)
    return frame["after"], before


async def test_a_drain_sends_every_socket_elsewhere_at_spread_times(join, settings, monkeypatch):
    settings.CHAT_DRAIN_SPREAD = 5
    spread = []
    monkeypatch.setattr(
        drain.random, "uniform", lambda low, high: spread.append((low, high)) or len(spread) / 2
    )
    sockets = [await join("drained") for _ in range(6)]
    draining = asyncio.create_task(drain.drain(timeout=10))
    delays = [(await sent_elsewhere(socket, settings))[0] for socket in sockets]
    await asyncio.wait_for(draining, 2)
    # A delay of its own for each socket, drawn from the whole spread.
    assert sorted(delays) == [0.5, 1, 1.5, 2, 2.5, 3]
    assert spread == [(0, 5)] * 6


async def test_a_socket_that_comes_while_draining_is_sent_elsewhere(connect, settings):
    drain._draining = True
    late = await connect("drained")
    await sent_elsewhere(late, settings)


async def test_a_message_being_saved_reaches_the_room_before_its_sender_is_sent_away(
    join, monkeypatch, settings
):
    saving = asyncio.Event()
    saved = asyncio.Event()
    save = history.save_message

    async def slow_save(**kwargs):
        saving.set()
        await saved.wait()
        return await save(**kwargs)

    monkeypatch.setattr(history, "save_message", slow_save)
    # Another server process's subscription to the room, whose sockets stay.
    layer = get_channel_layer()
    elsewhere = await layer.new_channel()
    await layer.group_add(group_name("drained"), elsewhere)
    alice = await join("drained")
    await alice.receive_presence()
    await alice.send_json_to({"message": "in flight", "client_id": "c1"})
    await saving.wait()

    draining = asyncio.create_task(drain.drain(timeout=10))
    # Alice's message is still being saved: she is not sent away before it is sent.
    await asyncio.sleep(0.3)
    assert alice.output_queue.empty()
    saved.set()
    while (event := await asyncio.wait_for(layer.receive(elsewhere), 2))["type"] != (
        protocol.CHAT_MESSAGE
    ):
        pass  # alice's joining, announced to the room
    assert json.loads(event["frame"])["message"] == "in flight"
    await sent_elsewhere(alice, settings)
    await asyncio.wait_for(draining, 2)
    await layer.group_discard(group_name("drained"), elsewhere)


async def test_a_drain_gives_up_after_its_timeout(connect):
    # A socket that never leaves its room (here, one that never answers the close) does
    # not hold the process up beyond the timeout.
    stuck = await connect("drained")
    await asyncio.wait_for(drain.drain(timeout=0.3), 2)
    assert not stuck.future.done()


async def open_and_ignore(server, path):
    """A socket that joins a room, then reads nothing more and never answers the close:
    the drain waits for it until the server drops it (autobahn's close handshake timeout,
    a second)."""
    reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nOrigin: {ORIGIN}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode()
    )
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    return writer


async def test_clients_of_a_restarted_server_come_back_and_lose_no_message(start_server, tmp_path):
    # One process, as with the in-memory layer: a restart leaves the clients nowhere to go
    # until it is back. A sender sends steadily throughout; every message it saw confirmed
    # reaches every client once, in order, where messages are saved.
    settings = {"CHAT_DRAIN_SPREAD": "0.5", **STEADY_SENDING}
    log = tmp_path / "server.log"
    server = start_server(log=log, **settings)
    room = SteadyRoom(room_url(server, "restarted"), 4, keeps_history=history.KEEPS_HISTORY)
    await room.start()
    await asyncio.sleep(1)
    server.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(server.wait, 20) == 0
    await asyncio.to_thread(start_server, port=server.port, log=log, **settings)
    await room.until(lambda: all(c.connections == 2 for c in room.clients), "every client back")
    await asyncio.sleep(1)
    await room.stop()
    room.check_deliveries()
    for client in room.clients:
        assert client.closes == [protocol.CLOSE_GOING_AWAY]
    printed = log.read_text()
    assert printed.count("Drained: every socket has left.") == 1
    assert "Traceback" not in printed and "Exception" not in printed


def readiness(server):
    try:
        with urllib.request.urlopen(f"http://{HOST}:{server.port}/readyz", timeout=5) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


DRAINING = (503, {"status": "unavailable", "failed": ["draining"]})


def watch_the_drain(server, url, watching):
    """From before the SIGTERM until the server stops listening: what /readyz answers, in
    order and without repeats, and the status a new socket gets while it says draining.
    ``watching`` is set once the first answer is in.

    The drain lasts about a second here (until the server drops the socket that ignores
    its close), so the watch starts before the signal rather than racing it."""
    answers, socket_statuses = [], []
    while True:
        try:
            answer = readiness(server)
        except urllib.error.URLError as error:
            if isinstance(error.reason, ConnectionRefusedError):
                return answers, socket_statuses  # the server has stopped listening
            continue
        except OSError:
            continue  # cut off while the server stops: the next request says how far
        if not answers or answers[-1] != answer:
            answers.append(answer)
        watching.set()
        if answer == DRAINING and not socket_statuses:
            try:
                with connect_now(url, origin=ORIGIN, open_timeout=5):
                    socket_statuses.append(101)
            except InvalidStatus as refused:
                socket_statuses.append(refused.response.status_code)
            except OSError:
                pass  # gone between the two requests: the next answer says so
        time.sleep(0.01)


async def test_sigterm_drains_a_real_server_which_exits_cleanly(start_server):
    server = start_server(CHAT_DRAIN_SPREAD="0.5")
    url = room_url(server, "drained")
    assert readiness(server) == (200, {"status": "ok"})
    async with connect(url, origin=ORIGIN) as first, connect(url, origin=ORIGIN) as second:
        for websocket in (first, second):
            await receive(websocket, protocol.CHAT_HISTORY)
        ignoring = await open_and_ignore(server, "/ws/chat/drained/")
        watching = threading.Event()
        watch = asyncio.create_task(asyncio.to_thread(watch_the_drain, server, url, watching))
        assert await asyncio.to_thread(watching.wait, 10)

        server.send_signal(signal.SIGTERM)
        for websocket in (first, second):
            frame = await receive(websocket, protocol.RECONNECT)
            assert 0 <= frame["after"] <= 0.5
            assert await wait_closed(websocket) == protocol.CLOSE_GOING_AWAY
    assert await asyncio.to_thread(server.wait, 15) == 0
    # Until the last socket was gone: not ready, and new sockets refused with 503, which a
    # proxy passes on to another process.
    answers, socket_statuses = await asyncio.wait_for(watch, 10)
    assert answers == [(200, {"status": "ok"}), DRAINING]
    assert socket_statuses == [503]
    ignoring.close()
