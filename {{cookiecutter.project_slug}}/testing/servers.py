"""Real server processes for tests that need what WebsocketCommunicator skips (the
WebSocket protocol itself, several processes, restarts), and the clients that talk to
them.

Servers run `python -m config.serve config.asgi:application` (testing.processes), as in
production, against the test database and the tests' channel layer (with Redis, under the
tests' own prefix).
"""

import asyncio
import atexit
import contextlib
import functools
import http.cookiejar
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from testing import processes
from testing.processes import HOST, ORIGIN, PROJECT_DIR, accepts_connections, wait_until


def server_env(tmp_path):
    """The environment of server processes: the test database, a prepared schema."""
    env = {
        **os.environ,
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    if connection.vendor == "sqlite":
        # The test database lives in memory, out of other processes' reach: give the
        # servers a file database of their own, a copy of one migrated once per run.
        database = tmp_path / "db.sqlite3"
        shutil.copyfile(migrated_sqlite_database(), database)
        env["DATABASE_URL"] = f"sqlite:///{database}"
    else:
        db = connection.settings_dict
        env["DATABASE_URL"] = (
            f"{connection.vendor}://{quote(db['USER'])}:{quote(db['PASSWORD'] or '')}"
            f"@{db['HOST']}:{db['PORT']}/{quote(db['NAME'])}"
        )
    return env


@functools.cache
def migrated_sqlite_database():
    """A SQLite file with the project's tables, made once per test run (migrating takes
    seconds, copying it none)."""
    directory = Path(tempfile.mkdtemp(prefix="chat-servers-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    database = directory / "db.sqlite3"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=PROJECT_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{database}",
        },
        check=True,
    )
    return database


async def until(condition, what, timeout=20):
    """Wait, without blocking the event loop, until condition() is true; fail the test,
    naming ``what``, after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        await asyncio.sleep(0.05)


async def cancel_all(tasks):
    """Cancel ``tasks`` and wait until they have ended (a task still pending when the event
    loop closes is logged as an error)."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def room_url(process, room):
    return f"ws://{HOST}:{process.port}/ws/chat/{quote(room, safe='')}/"


async def receive(websocket, frame_type, timeout=10):
    """The next frame of ``frame_type``, skipping others (history, for one)."""
    while True:
        frame = json.loads(await asyncio.wait_for(websocket.recv(), timeout=timeout))
        if frame["type"] == frame_type:
            return frame


async def wait_closed(websocket, timeout=15):
    """Wait for the server to close the socket, skipping what it sends until then; return
    the close code."""
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(websocket.recv(), timeout=timeout)
    return websocket.close_code


async def round_trip(url, text, timeout=10):
    """Send a message on a socket of its own; return the text the room sent back within
    ``timeout`` seconds."""
    async with connect(url, origin=ORIGIN) as websocket:
        await websocket.send(json.dumps({"message": text}))
        return (await receive(websocket, "chat.message", timeout))["message"]


async def round_trip_once_back(url, text, timeout):
    """round_trip, tried again while the server refuses or closes sockets (Redis away),
    for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await round_trip(url, text)
        except (ConnectionClosed, InvalidStatus, TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def api_call(server, path, key, body=None, timeout=10):
    """Call the HTTP API of a real server with the token ``key``: a GET, or a POST of
    ``body`` as JSON. Returns the status and the JSON answer."""
    request = urllib.request.Request(
        f"http://{HOST}:{server.port}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    # An http:// URL of the test's own server.
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return response.status, json.loads(response.read())


class HttpSession:
    """Pages and form posts against one real server, with a browser's cookie jar."""

    def __init__(self):
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def cookie(self, name):
        return next(cookie.value for cookie in self.cookies if cookie.name == name)

    def cookie_header(self):
        """The session cookie, as headers for a WebSocket opened by this browser."""
        return {"Cookie": f"sessionid={self.cookie('sessionid')}"}

    def get(self, server, path):
        with self.opener.open(f"http://{HOST}:{server.port}{path}", timeout=10) as response:
            return response.status

    def post(self, server, path, fields):
        login_page = f"http://{HOST}:{server.port}/accounts/login/"
        self.opener.open(login_page, timeout=10).read()  # sets a CSRF cookie
        request = urllib.request.Request(
            f"http://{HOST}:{server.port}{path}",
            data=urllib.parse.urlencode(fields).encode(),
            headers={"X-CSRFToken": self.cookie("csrftoken")},
        )
        with self.opener.open(request, timeout=10) as response:
            return response.status


class RedisProcess:
    """A redis-server of the test's own, which it may stop and restart on its port.
    Extra arguments go to redis-server (`--sentinel` and a config file make a Sentinel).
    Skips the test where redis-server is not installed."""

    def __init__(self, directory, *arguments):
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.skip("redis-server is not on PATH; this test starts Redis servers of its own")
        self.arguments = [
            executable,
            *arguments,
            *("--save", "", "--appendonly", "no", "--dir", str(directory)),
        ]
        self.port = None
        self.process = None

    @property
    def url(self):
        return f"redis://{HOST}:{self.port}/0"

    def launch(self, port):
        command = [*self.arguments, "--bind", HOST, "--port", str(port)]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL)

    def start(self):
        """Start Redis: on a reserved port the first time, on the same port again after a
        stop, as a Redis that comes back does."""
        if self.port is None:
            self.process = processes.start_on_a_reserved_port(self.launch, "Redis")
            self.port = self.process.port
            return
        self.process = self.launch(self.port)
        wait_until(lambda: accepts_connections(self.port), f"Redis on port {self.port}", timeout=10)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


class ChatClient:
    """A client that behaves as the browser's does across restarts: it keeps the session
    of the room's page, so that it is the same guest on every socket; it reconnects after
    the delay a server going away names (else shortly), resumes from the last message it
    has, keeps each message once, and sends its own one at a time, each until the room
    confirms it (again after a reconnect, under the same client_id)."""

    def __init__(self, url):
        self.url = url
        self.headers = {}
        self.messages = {}  # id -> text: each saved message once
        self.unsaved = []  # texts of messages without an id, as they came
        self.outbox = []  # (client_id, text) not yet confirmed, oldest first
        self.confirmed = []  # the texts the room confirmed, in order
        self.errors = []
        self.closes = []  # the close codes of the sockets it lost
        self.connections = 0
        self.socket = None
        self.in_flight = None
        self.reconnect_after = None

    def open_page(self):
        """Open the room's page, as a browser does before its socket: the session it sets
        names the guest, who sends a message again under its client_id after a reconnect
        (a socket without it would be a new guest, whose repeat is a new message)."""
        page = self.url.replace("ws://", "http://", 1).replace("/ws/chat/", "/chat/", 1)
        session = HttpSession()
        session.opener.open(page, timeout=10).close()
        self.headers = session.cookie_header()

    def texts(self):
        return [self.messages[message_id] for message_id in sorted(self.messages)] or self.unsaved

    async def send(self, text):
        self.outbox.append((f"{id(self)}-{len(self.confirmed) + len(self.outbox)}", text))
        await self.pump()

    async def pump(self):
        if self.socket is None or self.in_flight is not None or not self.outbox:
            return
        self.in_flight, text = self.outbox[0]
        with contextlib.suppress(ConnectionClosed):
            await self.socket.send(json.dumps({"message": text, "client_id": self.in_flight}))

    async def resume(self):
        if self.messages:
            frame = {"type": "chat.resume", "after": max(self.messages)}
            await self.socket.send(json.dumps(frame))

    async def run(self):
        """Stay in the room until cancelled."""
        while True:
            try:
                async with connect(
                    self.url, origin=ORIGIN, additional_headers=self.headers, open_timeout=5
                ) as websocket:
                    self.socket, self.in_flight = websocket, None
                    self.connections += 1
                    await self.resume()
                    await self.pump()
                    async for text in websocket:
                        await self.handle(json.loads(text))
                        await self.pump()
            except ConnectionClosed as closed:
                self.closes.append(closed.rcvd.code if closed.rcvd else None)
            except (InvalidHandshake, OSError, TimeoutError):
                # Refused, not listening, or gone in the middle of the handshake: the
                # server is restarting.
                pass
            self.socket = None
            delay, self.reconnect_after = self.reconnect_after or 0.2, None
            await asyncio.sleep(delay)

    async def handle(self, frame):
        if frame["type"] == "chat.message":
            self.keep(frame)
            if frame.get("client_id") == self.in_flight and self.in_flight is not None:
                self.outbox.pop(0)
                self.confirmed.append(frame["message"])
                self.in_flight = None
        elif frame["type"] == "chat.history":
            for message in frame["messages"]:
                self.keep(message)
            if frame["more"]:
                await self.resume()
        elif frame["type"] == "reconnect":
            self.reconnect_after = frame["after"]
        elif frame["type"] == "error":
            self.errors.append(frame)

    def keep(self, message):
        if "id" in message:
            self.messages.setdefault(message["id"], message["message"])
        else:
            self.unsaved.append(message["message"])


# What a server process that restarts with sockets in a room must not disturb: a sender
# sending steadily, within a flood limit lifted for it.
STEADY_SENDING = {"CHAT_RATE_LIMIT_BURST": "100", "CHAT_RATE_LIMIT_PER_SECOND": "100"}


class SteadyRoom:
    """``count`` ChatClients in the room at ``url``, the first sending a message every
    50 ms from start() until stop(); ``keeps_history``: whether the project saves
    messages (chat.history.KEEPS_HISTORY)."""

    def __init__(self, url, count, *, keeps_history):
        self.keeps_history = keeps_history
        self.clients = [ChatClient(url) for _ in range(count)]
        self.sender = self.clients[0]
        self.sent = []  # the texts sent, in order
        self.running = []
        self.sending = None
        self.stopping = asyncio.Event()

    async def start(self):
        for client in self.clients:
            await asyncio.to_thread(client.open_page)
        self.running = [asyncio.create_task(client.run()) for client in self.clients]
        await self.until(lambda: all(client.connections for client in self.clients), "all in")
        self.sending = asyncio.create_task(self.send_steadily())

    async def until(self, condition, what):
        """Wait until condition(); a client that died meanwhile fails the test with why."""

        def met():
            for task in self.running:
                if task.done():
                    raise AssertionError(f"a client stopped: {task.exception()!r}")
            return condition()

        await until(met, what)

    async def send_steadily(self):
        # Stopped by a flag, not cancelled: a message is counted as sent once it was.
        while not self.stopping.is_set():
            self.sent.append(f"message {len(self.sent)}")
            await self.sender.send(self.sent[-1])
            await asyncio.sleep(0.05)

    async def stop(self):
        """Stop sending; wait until the room confirmed every message and, where messages
        are saved, every client has each; then disconnect them."""
        self.stopping.set()
        await self.sending
        await self.until(lambda: not self.sender.outbox, "every message confirmed")
        if self.keeps_history:
            try:
                await self.until(
                    lambda: all(len(c.messages) == len(self.sent) for c in self.clients),
                    "every delivery",
                )
            except AssertionError as failure:
                have = [(len(c.messages), c.connections, c.closes) for c in self.clients]
                raise AssertionError(
                    f"{failure}: of {len(self.sent)} sent, the clients have "
                    f"(messages, connections, closes) {have}"
                ) from None
        await cancel_all(self.running)

    def check_deliveries(self):
        """Every message sent was confirmed, in order. Each client has every message once,
        in order, where messages are saved; elsewhere, those sent while it was there (the
        rest are gone, and the browser client says so), once each, in order. Nobody got
        an error frame."""
        assert self.sender.confirmed == self.sent
        for client in self.clients:
            if self.keeps_history:
                assert client.texts() == self.sent
            else:
                assert client.unsaved == [text for text in self.sent if text in client.unsaved]
            assert client.errors == []
