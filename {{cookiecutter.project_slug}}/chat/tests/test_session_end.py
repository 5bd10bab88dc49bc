"""A socket lives no longer than its session (chat.session_watch)."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from websockets.asyncio.client import connect as connect_websocket

from chat import protocol, stores
from testing.processes import ORIGIN
from testing.servers import HttpSession, receive, room_url, wait_closed

pytestmark = pytest.mark.django_db(transaction=True)

# Seconds within which an ended session's sockets must close.
CLOSE_WITHIN = 5


@pytest.fixture
def logged_in_client(django_user_model):
    """Return a function that logs a user in with a test Client of their own, making the
    user first if need be."""

    @database_sync_to_async
    def log_in(username):
        user = django_user_model.objects.filter(username=username).first()
        if user is None:
            user = django_user_model.objects.create_user(username=username)
        client = Client()
        client.force_login(user)
        return client

    return log_in


def cookie_of(client):
    return f"sessionid={client.cookies['sessionid'].value}"


async def close_code(socket, timeout=CLOSE_WITHIN):
    """The code the server closes ``socket`` with, skipping frames sent before it."""
    while True:
        output = await socket.receive_output(timeout)
        if output["type"] == "websocket.close":
            return output["code"]


@database_sync_to_async
def change_user(username, **changes):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=username)
    for name, value in changes.items():
        setattr(user, name, value)
    if "password" in changes:
        user.set_password(changes["password"])
    user.save()


async def test_logging_out_closes_the_sockets_of_that_session_only(logged_in_client, join):
    laptop, phone = await logged_in_client("alice"), await logged_in_client("alice")
    tabs = [await join("lobby", cookie=cookie_of(laptop)) for _ in range(2)]
    on_phone = await join("lobby", cookie=cookie_of(phone))
    bob = await join("lobby", cookie=cookie_of(await logged_in_client("bob")))

    await database_sync_to_async(laptop.logout)()

    for tab in tabs:
        assert await close_code(tab) == protocol.CLOSE_FORBIDDEN
    assert await on_phone.receive_nothing(after=bob)


@pytest.mark.parametrize(
    "change",
    [{"password": "a new one"}, {"is_active": False}],
    ids=["new-password", "made-inactive"],
)
async def test_a_change_that_logs_the_user_out_closes_their_sockets(logged_in_client, join, change):
    alice = await join("lobby", cookie=cookie_of(await logged_in_client("alice")))

    await change_user("alice", **change)

    assert await close_code(alice) == protocol.CLOSE_FORBIDDEN


async def test_deleting_a_user_closes_their_sockets(logged_in_client, join, django_user_model):
    alice = await join("lobby", cookie=cookie_of(await logged_in_client("alice")))

    await database_sync_to_async(django_user_model.objects.filter(username="alice").delete)()

    assert await close_code(alice) == protocol.CLOSE_FORBIDDEN


async def test_changes_that_keep_sessions_valid_keep_sockets_open(logged_in_client, join):
    alice = await join("lobby", cookie=cookie_of(await logged_in_client("alice")))

    await change_user("alice", first_name="Alice")
    await logged_in_client("alice")  # logging in elsewhere saves last_login

    await alice.send_json_to({"message": "still here"})
    assert (await alice.receive_json_from(timeout=CLOSE_WITHIN))["message"] == "still here"


async def test_an_expired_session_closes_its_sockets(logged_in_client, join):
    client = await logged_in_client("alice")

    @database_sync_to_async
    def expire_soon():
        session = client.session
        session.set_expiry(2)
        session.save()

    await expire_soon()
    alice = await join("lobby", cookie=cookie_of(client))

    await alice.send_json_to({"message": "before it expires"})
    assert (await alice.receive_json_from())["message"] == "before it expires"
    assert await close_code(alice, timeout=2 + CLOSE_WITHIN) == protocol.CLOSE_FORBIDDEN


async def test_guest_sockets_are_not_watched(connect, join):
    # A guest's session logs nobody in: there is nothing to end.
    guest = await join("lobby")

    await guest.send_json_to({"message": "hello"})
    assert (await guest.receive_json_from())["message"] == "hello"


# -- Real servers: a logout on one process ends sockets on every process -------------------


async def test_logging_out_on_one_server_closes_the_socket_on_another(start_server):
    one = start_server()
    two = start_server() if stores.shared_by_processes() else one
    alice = HttpSession()
    password = "correct horse battery staple"  # noqa: S105
    signup = {"username": "alice", "password1": password, "password2": password}
    assert await asyncio.to_thread(alice.post, one, "/accounts/signup/", signup) == 200
    headers = alice.cookie_header()

    url = room_url(two, "lobby")
    async with connect_websocket(url, origin=ORIGIN, additional_headers=headers) as socket:
        await socket.send('{"message": "hi"}')
        assert (await receive(socket, "chat.message"))["user"] == "alice"

        await asyncio.to_thread(alice.post, one, "/accounts/logout/", {})

        assert await wait_closed(socket, timeout=CLOSE_WITHIN) == protocol.CLOSE_FORBIDDEN
