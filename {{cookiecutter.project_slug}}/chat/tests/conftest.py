import asyncio
import json
{%- if cookiecutter.channel_layer == "redis" %}
import uuid
{%- endif %}
from urllib.parse import quote

import pytest
{%- if cookiecutter.channel_layer == "redis" %}
import redis
{%- endif %}
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
{%- if cookiecutter.channel_layer == "redis" %}
from django.conf import settings
{%- endif %}
from django.test import Client

from chat import ratelimit
from chat.tests import servers
from config.asgi import application

# An Origin in the default ALLOWED_HOSTS; browsers always send one.
ORIGIN = (b"origin", b"http://localhost")
{%- if cookiecutter.channel_layer == "redis" %}
TEST_CHANNEL_PREFIX = f"test-{uuid.uuid4().hex[:12]}"
{%- endif %}


def room_path(room):
    return f"/ws/chat/{quote(room, safe='')}/"


class ChatCommunicator(WebsocketCommunicator):
    """Skips presence frames, which every join and leave sends, unless a test asks for
    them with receive_presence()."""

    async def receive_json_from(self, timeout=1):
        while True:
            frame = await super().receive_json_from(timeout)
            if frame.get("type") != "presence":
                return frame

    async def receive_presence(self, timeout=1):
        while True:
            frame = await super().receive_json_from(timeout)
            if frame.get("type") == "presence":
                return frame

    async def receive_nothing(self, timeout=0.1, interval=0.01):
        await asyncio.sleep(timeout)
        while not self.output_queue.empty():
            message = self.output_queue.get_nowait()
            if json.loads(message.get("text") or "{}").get("type") != "presence":
                return False
        return True


{%- if cookiecutter.channel_layer == "redis" %}


@pytest.fixture(scope="session", autouse=True)
def redis_is_reachable():
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.exit(
            f"Redis at REDIS_URL={settings.REDIS_URL} is not reachable ({exc}). "
            "Start it (e.g. `redis-server`) or point REDIS_URL at one.",
            returncode=1,
        )
    finally:
        client.close()
{%- endif %}


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # The manifest storage used in production needs `collectstatic` to have run first.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def fresh_rate_limits(monkeypatch):
    monkeypatch.setattr(ratelimit, "sender_buckets", ratelimit.SenderBuckets())


{%- if cookiecutter.channel_layer == "redis" %}


@pytest.fixture(autouse=True)
def isolated_channel_layer(settings, monkeypatch):
    """Keep this run's rooms apart from other runs on the same Redis, here and in the
    server processes tests start."""
    layer = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {
        "default": {**layer, "CONFIG": {**layer["CONFIG"], "prefix": TEST_CHANNEL_PREFIX}}
    }
    monkeypatch.setenv("CHANNEL_LAYER_PREFIX", TEST_CHANNEL_PREFIX)
{%- endif %}


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    # Each test runs in its own event loop and channel layers hold loop-bound state, so
    # each test gets a new layer.
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def connect():
    """Open sockets to the full ASGI application, as a browser would; close them afterwards."""
    communicators = []

    async def open_socket(room, *, cookie=None, origin=ORIGIN, expect_accept=True):
        headers = [origin] if origin else []
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        communicator = ChatCommunicator(application, room_path(room), headers=headers)
        communicators.append(communicator)
        connected, _ = await communicator.connect()
        assert connected is expect_accept
        return communicator

    yield open_socket
    # Closing after the test's own event loop has finished is not possible; tests close
    # their sockets, this only covers a failing test.
    for communicator in communicators:
        communicator.future.cancel()


@pytest.fixture
def join(connect):
    """Open a socket to a room{% if cookiecutter.persist_messages %} and read the history it receives first{% endif %}."""

    async def join_room(room, **kwargs):
        communicator = await connect(room, **kwargs)
{%- if cookiecutter.persist_messages %}
        history = await communicator.receive_json_from()
        assert history["type"] == "chat.history"
{%- endif %}
        return communicator

    return join_room


@pytest.fixture
def start_server(transactional_db, tmp_path):
    """Start real daphne processes of this project; stop them after the test."""
    env = servers.server_env(tmp_path)
    started = []

    def start(daphne_options=(), port=None, **env_overrides):
        process = servers.start_server({**env, **env_overrides}, daphne_options, port)
        started.append(process)
        return process

    yield start
    for process in started:
        servers.stop_server(process)


# Test code reaches the database as the consumers do, through database_sync_to_async,
# which closes each connection after use: a connection left open in its worker thread
# would keep PostgreSQL from dropping the test database.


@pytest.fixture
def session_cookie(django_user_model):
    """Return a function that logs in a new user and gives the Cookie header for them."""

    @database_sync_to_async
    def log_in(username):
        user = django_user_model.objects.create_user(username=username)
        client = Client()
        client.force_login(user)
        return f"sessionid={client.cookies['sessionid'].value}"

    return log_in
