from datetime import datetime
from importlib import import_module

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import override_settings

from chat import protocol
from chat.rooms_backend import history

pytestmark = pytest.mark.django_db(transaction=True)

UNICODE_ROOMS = [
    "서울",
    "café crème",
    "🎉 party 🎉",
    "👨‍👩‍👧 family",
    "room with spaces",
    "a/b",
    "x" * 200,
]


async def test_message_reaches_every_member_including_sender(join):
    alice = await join("lobby")
    bob = await join("lobby")

    await alice.send_json_to({"message": "hello"})

    for communicator in (alice, bob):
        frame = await communicator.receive_json_from()
        assert frame["type"] == "chat.message"
        assert frame["message"] == "hello"
        assert frame["user"].startswith("guest-")
        assert datetime.fromisoformat(frame["ts"]).tzinfo is not None
        # Saved messages have an id, which resume and history pages go by.
        assert isinstance(frame.get("id"), int) is history.KEEPS_HISTORY


async def test_tutorial_frame_with_explicit_type_is_accepted(join):
    alice = await join("lobby")

    await alice.send_json_to({"type": "chat.message", "message": "typed"})

    assert (await alice.receive_json_from())["message"] == "typed"


async def test_broadcast_echoes_the_senders_client_id(join):
    alice = await join("lobby")
    bob = await join("lobby")

    await alice.send_json_to({"message": "ack me", "client_id": "c-1"})

    for communicator in (alice, bob):
        frame = await communicator.receive_json_from()
        assert (frame["message"], frame["client_id"]) == ("ack me", "c-1")
    await alice.send_json_to({"message": "no id"})
    assert "client_id" not in await alice.receive_json_from()


async def test_a_message_sent_again_under_its_client_id_reaches_the_room_once(join, session_cookie):
    # As a client does that lost its connection, or reloaded, before it heard back.
    cookie = await session_cookie("alice")
    alice = await join("lobby", cookie=cookie)
    bob = await join("lobby")
    await alice.send_json_to({"message": "once", "client_id": "c-1"})
    assert (await bob.receive_json_from())["message"] == "once"
    await alice.receive_json_from()
    await alice.disconnect()

    again = await join("lobby", cookie=cookie)
    await again.send_json_to({"message": "once", "client_id": "c-1"})

    frame = await again.receive_json_from()
    assert (frame["message"], frame["client_id"]) == ("once", "c-1")
    assert await bob.receive_nothing(after=again)


async def test_the_same_client_id_from_another_sender_is_another_message(join, session_cookie):
    alice = await join("lobby", cookie=await session_cookie("alice"))
    bob = await join("lobby", cookie=await session_cookie("bob"))

    await alice.send_json_to({"message": "from alice", "client_id": "c-1"})
    await bob.send_json_to({"message": "from bob", "client_id": "c-1"})

    # Sent from two sockets at once: with Redis, either may reach the room first.
    assert {(await alice.receive_json_from())["message"] for _ in range(2)} == {
        "from alice",
        "from bob",
    }


@pytest.mark.parametrize("client_id", ["", 7, None, "x" * 65, "bad\nid"])
async def test_bad_client_id_gets_an_error(join, client_id):
    alice = await join("lobby")

    await alice.send_json_to({"message": "hi", "client_id": client_id})

    assert (await alice.receive_json_from())["code"] == protocol.INVALID_FRAME


async def test_messages_stay_in_their_room(join):
    alice = await join("kitchen")
    bob = await join("garden")

    await alice.send_json_to({"message": "only for the kitchen"})

    assert (await alice.receive_json_from())["message"] == "only for the kitchen"
    assert await bob.receive_nothing()


@pytest.mark.parametrize("room", UNICODE_ROOMS)
async def test_any_room_name_a_person_can_type_works(join, room):
    alice = await join(room)
    bob = await join(room)

    await alice.send_json_to({"message": f"hi from {room}"})

    assert (await bob.receive_json_from())["message"] == f"hi from {room}"


async def test_rooms_whose_names_differ_only_in_case_are_separate(join):
    upper = await join("Room")
    lower = await join("room")

    await upper.send_json_to({"message": "upper"})

    assert (await upper.receive_json_from())["message"] == "upper"
    assert await lower.receive_nothing()


@pytest.mark.parametrize(
    "room", ["x" * 201, "bad\x00name", " ", "..", "", "new\nline", "cr\r", "tab\tname"]
)
async def test_invalid_room_name_is_refused_with_close_code(connect, room):
    communicator = await connect(room)

    frame = await communicator.receive_json_from()
    assert frame["type"] == "error"
    assert frame["code"] == protocol.INVALID_ROOM
    assert (await communicator.receive_output())["code"] == protocol.CLOSE_INVALID_ROOM


@database_sync_to_async
def visit_room_page(client, room):
    client.get(f"/chat/{room}/")
    return client.session["chat_guest_name"], f"sessionid={client.cookies['sessionid'].value}"


async def test_guest_keeps_the_name_its_room_page_gave_it(join, client):
    guest_name, cookie = await visit_room_page(client, "lobby")
    guest = await join("lobby", cookie=cookie)

    await guest.send_json_to({"message": "who am I"})

    assert (await guest.receive_json_from())["user"] == guest_name


async def test_logged_in_user_appears_under_username(join, session_cookie):
    alice = await join("lobby", cookie=await session_cookie("alice"))

    await alice.send_json_to({"message": "signed"})

    assert (await alice.receive_json_from())["user"] == "alice"


async def test_display_name_comes_from_the_server_not_the_client(join, session_cookie):
    alice = await join("lobby", cookie=await session_cookie("alice"))

    await alice.send_json_to({"message": "spoof", "user": "admin"})

    assert (await alice.receive_json_from())["user"] == "alice"


@override_settings(CHAT_ALLOW_ANONYMOUS=False)
async def test_anonymous_socket_is_closed_with_4401_before_joining(connect, join, session_cookie):
    alice = await join("lobby", cookie=await session_cookie("alice"))
    anonymous = await connect("lobby")

    assert await anonymous.receive_output() == {
        "type": "websocket.close",
        "code": protocol.CLOSE_LOGIN_REQUIRED,
    }
    # A room hands each event to its sockets in the order they joined: had the refused
    # socket joined, it would get the message before a socket that joins after it.
    witness = await join("lobby", cookie=await session_cookie("witness"))
    await alice.send_json_to({"message": "members only"})
    assert (await witness.receive_json_from())["message"] == "members only"
    assert anonymous.output_queue.empty()


@database_sync_to_async
def log_out(cookie):
    session_store = import_module(settings.SESSION_ENGINE).SessionStore
    session_store(session_key=cookie.removeprefix("sessionid=")).delete()


@override_settings(CHAT_ALLOW_ANONYMOUS=False)
@pytest.mark.parametrize(
    "cookie",
    ["sessionid=made-up-session-key", "sessionid=", "sessionid=\"'; DROP TABLE x"],
    ids=["unknown", "empty", "garbage"],
)
async def test_a_cookie_naming_no_session_is_anonymous(connect, cookie):
    socket = await connect("lobby", cookie=cookie)

    assert await socket.receive_output() == {
        "type": "websocket.close",
        "code": protocol.CLOSE_LOGIN_REQUIRED,
    }


@override_settings(CHAT_ALLOW_ANONYMOUS=False)
async def test_a_logged_out_session_no_longer_opens_a_socket(connect, join, session_cookie):
    cookie = await session_cookie("alice")
    alice = await join("lobby", cookie=cookie)
    await alice.disconnect()

    await log_out(cookie)
    socket = await connect("lobby", cookie=cookie)

    assert (await socket.receive_output())["code"] == protocol.CLOSE_LOGIN_REQUIRED


@override_settings(CHAT_ALLOW_ANONYMOUS=False)
async def test_logged_in_user_may_chat_when_anonymous_chat_is_off(join, session_cookie):
    alice = await join("lobby", cookie=await session_cookie("alice"))

    await alice.send_json_to({"message": "still here"})

    assert (await alice.receive_json_from())["user"] == "alice"


@pytest.mark.parametrize(
    "origin",
    [(b"origin", b"http://evil.example"), (b"origin", b"null"), None],
    ids=["other-site", "null", "missing"],
)
async def test_socket_from_a_foreign_origin_is_refused(connect, origin):
    await connect("lobby", origin=origin, expect_accept=False)
