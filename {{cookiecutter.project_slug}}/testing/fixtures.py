"""Fixtures and helpers of the tests of every app: sockets through Channels' communicator,
real server processes (testing.servers), and settings that keep tests apart."""

import contextlib
import os
import uuid
from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from chat import events, protocol
from chat.room_names import group_name
from config.asgi import application
from testing import processes, servers

# An Origin in the default ALLOWED_HOSTS; browsers always send one.
ORIGIN = (b"origin", b"http://localhost")
# This run's own prefix in a shared Redis, whose keys it deletes when it ends.
TEST_CHANNEL_PREFIX = "-".join(
    [os.environ.get("CHANNEL_LAYER_PREFIX", "asgi"), "test", uuid.uuid4().hex[:12]]
)


def room_path(room):
    return f"/ws/chat/{quote(room, safe='')}/"


async def post(room, text, user="system"):
    """Send a message to the room's group, as a view or a task would."""
    message = protocol.chat_message(text=text, user=user, guest=False, ts=timezone.now())
    frame = protocol.encode(message)
    await get_channel_layer().group_send(
        group_name(room), {"type": events.MESSAGE_EVENT, "frame": frame}
    )


class ChatCommunicator(WebsocketCommunicator):
    """A socket to one room. Skips presence frames, which every join and leave sends,
    unless a test asks for them with receive_presence()."""

    def __init__(self, room, headers):
        super().__init__(application, room_path(room), headers=headers)
        self.room = room

    async def receive_json_from(self, timeout=1):
        while True:
            frame = await super().receive_json_from(timeout)
            if frame.get("type") != protocol.PRESENCE:
                return frame

    async def receive_presence(self, timeout=1):
        while True:
            frame = await super().receive_json_from(timeout)
            if frame.get("type") == protocol.PRESENCE:
                return frame

    async def receive_presence_listing(self, name, timeout=1):
        """The first presence frame that lists ``name``: on a layer that delivers late,
        the announcement of a join from before this socket's may arrive first."""
        while name not in (frame := await self.receive_presence(timeout))["users"]:
            pass
        return frame

    async def receive_nothing(self, after=None, *, presence_too=False):
        return await nothing_arrives(self, after=after, presence_too=presence_too)


async def nothing_arrives(*sockets, after=None, presence_too=False):
    """Whether nothing (but presence frames, unless ``presence_too``) reaches any of
    ``sockets``, all in one room, before a marker message.

    The marker is sent to the room after what the test did, and a room's events reach a
    socket in the order they were sent. The test must know that what it checks was
    handled: it saw an answer to it, or it passes the socket that sent it as ``after``,
    which then sends the marker itself (a socket's frames are handled in order).
    """
    marker = f"marker-{uuid.uuid4().hex}"
    if after is None:
        await post(sockets[0].room, marker)
    else:
        await after.send_json_to({"message": marker})
    arrived = []
    for socket in sockets:
        receive = socket.receive_json_from
        if presence_too:
            receive = super(ChatCommunicator, socket).receive_json_from
        arrived.append(await receive())
    if after is not None and after not in sockets:
        while (await after.receive_json_from()).get("message") != marker:
            pass
    return all(frame.get("message") == marker for frame in arrived)


def uses_redis():
    return settings.CHAT_STORES == "chat.stores.redis"


@pytest.fixture(scope="session", autouse=True)
def redis_is_reachable_and_left_clean():
    """With the Redis layer: stop at once if Redis is not there; delete this run's keys
    once it is over."""
    if not uses_redis():
        yield
        return
    import redis

    for url in settings.REDIS_URLS:
        with redis.Redis.from_url(url, socket_connect_timeout=2) as client:
            try:
                client.ping()
            except redis.RedisError as exc:
                pytest.exit(
                    f"Redis at {url} (REDIS_URL) is not reachable ({exc}). "
                    "Start it (e.g. `redis-server`) or point REDIS_URL at one.",
                    returncode=1,
                )
    yield
    # Each test deletes its own keys; this catches what outlived one.
    delete_redis_keys(f"{TEST_CHANNEL_PREFIX}*")


@pytest.fixture(scope="session", autouse=True)
def rows_deleted_between_tests():
    """Empty PostgreSQL's tables after each transactional test with DELETE rather than
    Django's TRUNCATE, which makes new files for every table and index: a tenth of a
    second per test, most of a test's time, for tables that hold a few rows. Foreign keys
    are checked at commit (Django makes them deferrable), when every row is gone."""
    if connection.vendor != "postgresql":
        yield
        return
    operations = type(connection.ops)
    truncate = operations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables:
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        # Table names from Django's own introspection, quoted.
        return [" ".join(f"DELETE FROM {self.quote_name(table)};" for table in tables)]  # noqa: S608

    operations.sql_flush = sql_flush
    yield
    operations.sql_flush = truncate


@pytest.fixture
def room():
    """A room of the test's own: a socket another test left open stays listed in its room
    for a while."""
    return f"room-{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # The manifest storage used in production needs `collectstatic` to have run first.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def isolated_redis_keys(settings, monkeypatch):
    """Give each test a key prefix of its own for all it keeps in Redis (rooms, presence,
    flood limits, socket counts, the cache), here and in the server processes it starts,
    so that tests and runs sharing a Redis stay apart; delete its keys when it ends."""
    prefix = f"{TEST_CHANNEL_PREFIX}-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("CHANNEL_LAYER_PREFIX", prefix)
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": prefix}}
    if not uses_redis():
        yield
        return
    layer = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {
        "default": {**layer, "CONFIG": {**layer["CONFIG"], "prefix": prefix}}
    }
    yield
    delete_redis_keys(f"{prefix}*")


def delete_redis_keys(pattern):
    import redis

    for url in settings.REDIS_URLS:
        with redis.Redis.from_url(url, socket_connect_timeout=2) as client:
            for key in client.scan_iter(pattern):
                client.delete(key)


@pytest.fixture(autouse=True)
def quick_password_hashing(settings):
    # Hashing at production strength is most of a login's time, and the tests log in
    # often; what they check does not depend on the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    # Each test runs in its own event loop and channel layers hold loop-bound state, so
    # each test gets a new layer.
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
async def connect():
    """Open sockets to the full ASGI application, as a browser would; close them after
    the test."""
    communicators = []

    async def open_socket(
        room, *, cookie=None, origin=ORIGIN, accept_language=None, expect_accept=True
    ):
        headers = [origin] if origin else []
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        if accept_language:
            headers.append((b"accept-language", accept_language.encode()))
        communicator = ChatCommunicator(room, headers)
        communicators.append(communicator)
        connected, _ = await communicator.connect()
        assert connected is expect_accept
        return communicator

    yield open_socket
    for communicator in communicators:
        if not communicator.future.done():
            await communicator.disconnect()


@pytest.fixture
def join(connect):
    """Open a socket to a room and read the history it receives first."""

    async def join_room(room, **kwargs):
        communicator = await connect(room, **kwargs)
        history = await communicator.receive_json_from()
        assert history["type"] == protocol.CHAT_HISTORY
        return communicator

    return join_room


@pytest.fixture
def start_server(transactional_db, tmp_path):
    """Start real daphne processes of this project; stop them after the test."""
    with daphne_starter(servers.server_env(tmp_path)) as start:
        yield start


@pytest.fixture(scope="module")
def start_module_server(django_db_setup, tmp_path_factory):
    """Start real daphne processes that a module's tests share; stop them after its last
    test. Starting one costs most of a second of CPU: a test that needs a server it may
    change (its database, its settings, whether it runs) starts its own (start_server)."""
    with daphne_starter(servers.server_env(tmp_path_factory.mktemp("server"))) as start:
        yield start


@pytest.fixture(scope="module")
def server(start_module_server):
    """A server with the project's settings, shared by a module's tests."""
    return start_module_server()


@contextlib.contextmanager
def daphne_starter(env):
    started = []

    def start(daphne_options=(), port=0, log=None, **env_overrides):
        process = processes.start_daphne({**env, **env_overrides}, daphne_options, log, port)
        started.append(process)
        return process

    start.env = env  # for other commands run against the same database
    try:
        yield start
    finally:
        for process in started:
            processes.stop_process(process)


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
