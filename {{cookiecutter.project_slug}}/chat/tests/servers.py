"""Real server processes for tests that need what WebsocketCommunicator skips: the
WebSocket protocol itself, several processes, restarts.

Servers run `python -m config.serve config.asgi:application`, as in production, against
the test database and the tests' channel layer (with Redis, under the tests' own prefix).
"""

import asyncio
import atexit
import functools
import http.cookiejar
import json
import os
import shutil
import socket
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
from websockets.exceptions import ConnectionClosed, InvalidStatus

PROJECT_DIR = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
# Browsers send an Origin; the servers accept this one (DJANGO_ALLOWED_HOSTS below).
ORIGIN = f"http://{HOST}"


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


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def accepts_connections(port):
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(condition, what, timeout):
    """Call condition() until it returns something true; TimeoutError, naming ``what``,
    once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(0.1)


def start_server(env, daphne_options=(), port=None):
    """Start one daphne process (on a free port unless given one); return it once it
    accepts connections."""
    port = port or free_port()
    command = [sys.executable, "-m", "config.serve", "-b", HOST, "-p", str(port), *daphne_options]
    process = subprocess.Popen([*command, "config.asgi:application"], cwd=PROJECT_DIR, env=env)
    process.port = port

    def listening():
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        return accepts_connections(port)

    try:
        wait_until(listening, f"the server to listen on port {port}", timeout=30)
    except TimeoutError:
        process.kill()
        raise
    return process


def stop_server(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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


async def round_trip(url, text):
    """Send a message on a socket of its own; return the text the room sent back."""
    async with connect(url, origin=ORIGIN) as websocket:
        await websocket.send(json.dumps({"message": text}))
        return (await receive(websocket, "chat.message"))["message"]


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


class Browser:
    """A browser's cookies and form posts against one real server."""

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
    """A redis-server of the test's own on a spare port, which it may stop and restart.
    Extra arguments go to redis-server (`--sentinel` and a config file make a Sentinel).
    Skips the test where redis-server is not installed."""

    def __init__(self, directory, *arguments):
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.skip("redis-server is not on PATH; this test starts Redis servers of its own")
        self.port = free_port()
        self.command = [
            executable,
            *arguments,
            *("--bind", HOST, "--port", str(self.port)),
            *("--save", "", "--appendonly", "no", "--dir", str(directory)),
        ]
        self.process = None

    @property
    def url(self):
        return f"redis://{HOST}:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        wait_until(lambda: accepts_connections(self.port), f"Redis on port {self.port}", timeout=10)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
