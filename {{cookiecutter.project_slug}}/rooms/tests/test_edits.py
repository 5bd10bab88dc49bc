"""Editing and deleting saved messages: who may, what the room sees, what history keeps."""

import json

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.db import DatabaseError
from django.test import override_settings
from django.utils import timezone
from websockets.asyncio.client import connect as open_websocket

from chat import protocol, stores
from rooms import history
from rooms.models import Message
from testing.processes import ORIGIN
from testing.servers import receive, room_url

pytestmark = pytest.mark.django_db(transaction=True)


async def sent(socket, text, client_id=None):
    """Send a message from ``socket``; return the frame the room got."""
    frame = {"message": text}
    if client_id:
        frame["client_id"] = client_id
    await socket.send_json_to(frame)
    return await socket.receive_json_from()


@database_sync_to_async
def saved(message_id):
    return Message.objects.get(id=message_id)


async def staff_cookie(session_cookie, username):
    cookie = await session_cookie(username)
    staff = get_user_model().objects.filter(username=username)
    await database_sync_to_async(staff.update)(is_staff=True)
    return cookie


async def test_the_author_edits_a_message_and_the_room_sees_it_live(join, session_cookie):
    alice = await join("lobby", cookie=await session_cookie("alice"))
    bob = await join("lobby")
    message = await sent(alice, "helo")
    assert (await bob.receive_json_from())["id"] == message["id"]

    await alice.send_json_to(
        {"type": "chat.edit", "id": message["id"], "message": "hello", "client_id": "e-1"}
    )

    edit = await bob.receive_json_from()
    assert edit.keys() == {"type", "id", "message", "edited_at", "client_id"}
    assert (edit["type"], edit["id"], edit["message"]) == ("chat.edit", message["id"], "hello")
    # The author learns which of its frames was done.
    assert (await alice.receive_json_from())["client_id"] == "e-1"
    row = await saved(message["id"])
    assert (row.text, row.edited_at.isoformat()) == ("hello", edit["edited_at"])


async def test_history_shows_the_edited_text_with_its_mark(join, connect, session_cookie):
    alice = await join("lobby", cookie=await session_cookie("alice"))
    message = await sent(alice, "first try")
    await alice.send_json_to({"type": "chat.edit", "id": message["id"], "message": "better"})
    edit = await alice.receive_json_from()

    later = await connect("lobby")

    (shown,) = (await later.receive_json_from())["messages"]
    assert (shown["message"], shown["edited_at"]) == ("better", edit["edited_at"])
    assert "deleted" not in shown


async def test_a_guest_edits_their_own_message_in_their_session(join):
    guest = await join("lobby")
    message = await sent(guest, "as a guest")

    await guest.send_json_to({"type": "chat.edit", "id": message["id"], "message": "edited"})

    assert (await guest.receive_json_from())["message"] == "edited"


async def test_nobody_else_edits_a_message_not_even_staff(join, session_cookie):
    alice = await join("lobby", cookie=await session_cookie("alice"))
    message = await sent(alice, "mine")
    others = [
        await join("lobby"),  # a guest
        await join("lobby", cookie=await session_cookie("bob")),
        await join("lobby", cookie=await staff_cookie(session_cookie, "boss")),
    ]
    for other in others:
        await other.send_json_to(
            {"type": "chat.edit", "id": message["id"], "message": "yours now", "client_id": "x"}
        )
        refusal = await other.receive_json_from()
        assert (refusal["code"], refusal["id"], refusal["client_id"]) == (
            protocol.FORBIDDEN,
            message["id"],
            "x",
        )
    assert (await saved(message["id"])).text == "mine"
    assert await alice.receive_nothing()


async def test_a_guest_name_taken_by_an_account_does_not_make_it_the_author(join, session_cookie):
    # Guests' messages are theirs by the name of their session: an account whose username
    # looks the same is someone else.
    guest = await join("lobby")
    message = await sent(guest, "a guest's")
    impostor = await join("lobby", cookie=await session_cookie(message["user"]))

    await impostor.send_json_to({"type": "chat.delete", "id": message["id"]})

    assert (await impostor.receive_json_from())["code"] == protocol.FORBIDDEN


async def test_a_guest_who_draws_the_same_name_is_not_the_author(join):
    # Guest names are short and shown to all: a guest's messages are theirs by a secret
    # of their session.
    guest = await join("lobby")
    name = (await sent(guest, "mine"))["user"]
    other = await database_sync_to_async(Message.objects.create)(
        room="lobby", display_name=name, guest=True, text="someone else's, same name"
    )

    await guest.send_json_to({"type": "chat.delete", "id": other.id})

    assert (await guest.receive_json_from())["code"] == protocol.FORBIDDEN


async def test_the_author_deletes_a_message_and_its_text_is_gone(join, connect, session_cookie):
    alice = await join("lobby", cookie=await session_cookie("alice"))
    bob = await join("lobby")
    message = await sent(alice, "regrettable")
    await bob.receive_json_from()

    await alice.send_json_to({"type": "chat.delete", "id": message["id"], "client_id": "d-1"})

    assert await bob.receive_json_from() == {
        "type": "chat.delete",
        "id": message["id"],
        "client_id": "d-1",
    }
    row = await saved(message["id"])
    assert (row.text, row.deleted) == ("", True)
    later = await connect("lobby")
    (placeholder,) = (await later.receive_json_from())["messages"]
    assert (placeholder["id"], placeholder["message"], placeholder["deleted"]) == (
        message["id"],
        "",
        True,
    )


async def test_staff_delete_anyones_message(join, session_cookie):
    guest = await join("lobby")
    message = await sent(guest, "spam")
    staff = await join("lobby", cookie=await staff_cookie(session_cookie, "boss"))

    await staff.send_json_to({"type": "chat.delete", "id": message["id"]})

    assert (await guest.receive_json_from())["type"] == "chat.delete"
    assert (await saved(message["id"])).deleted


async def test_deleting_again_is_answered_as_done_and_the_room_told_once(join):
    # A client that lost its connection before the answer asks again.
    guest = await join("lobby")
    other = await join("lobby")
    message = await sent(guest, "once")
    await other.receive_json_from()
    for _ in range(2):
        await guest.send_json_to({"type": "chat.delete", "id": message["id"]})
        assert (await guest.receive_json_from())["type"] == "chat.delete"

    assert (await other.receive_json_from())["type"] == "chat.delete"
    assert await other.receive_nothing(after=guest)


async def test_staff_status_taken_away_is_taken_from_open_sockets(join, session_cookie):
    guest = await join("lobby")
    message = await sent(guest, "not yours")
    cookie = await staff_cookie(session_cookie, "former")
    former = await join("lobby", cookie=cookie)
    staff = get_user_model().objects.filter(username="former")
    await database_sync_to_async(staff.update)(is_staff=False)

    await former.send_json_to({"type": "chat.delete", "id": message["id"]})

    assert (await former.receive_json_from())["code"] == protocol.FORBIDDEN


async def test_a_deleted_message_cannot_be_edited(join):
    guest = await join("lobby")
    message = await sent(guest, "gone soon")
    await guest.send_json_to({"type": "chat.delete", "id": message["id"]})
    await guest.receive_json_from()

    await guest.send_json_to({"type": "chat.edit", "id": message["id"], "message": "back"})

    assert (await guest.receive_json_from())["code"] == protocol.NOT_FOUND
    assert (await saved(message["id"])).text == ""


@pytest.mark.parametrize("kind", ["chat.edit", "chat.delete"])
async def test_a_message_of_another_room_or_none_is_not_found(join, kind):
    elsewhere = await join("elsewhere")
    there = await sent(elsewhere, "in another room")
    guest = await join("lobby")

    for message_id in (there["id"], there["id"] + 1000):
        await guest.send_json_to({"type": kind, "id": message_id, "message": "x"})
        refusal = await guest.receive_json_from()
        assert (refusal["code"], refusal["id"]) == (protocol.NOT_FOUND, message_id)
    assert await elsewhere.receive_nothing()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "chat.edit", "message": "no id"}, protocol.INVALID_FRAME),
        ({"type": "chat.edit", "id": "1", "message": "x"}, protocol.INVALID_FRAME),
        ({"type": "chat.edit", "id": True, "message": "x"}, protocol.INVALID_FRAME),
        ({"type": "chat.edit", "id": 1}, protocol.INVALID_MESSAGE),
        ({"type": "chat.edit", "id": 1, "message": "   "}, protocol.INVALID_MESSAGE),
        ({"type": "chat.edit", "id": 1, "message": "x" * 1001}, protocol.MESSAGE_TOO_LONG),
        ({"type": "chat.edit", "id": 1, "message": "nul\x00"}, protocol.INVALID_MESSAGE),
        ({"type": "chat.delete"}, protocol.INVALID_FRAME),
        ({"type": "chat.delete", "id": -1}, protocol.INVALID_FRAME),
        ({"type": "chat.delete", "id": 2**63}, protocol.INVALID_FRAME),
    ],
)
@override_settings(CHAT_MAX_MESSAGE_LENGTH=1000)
async def test_bad_edits_and_deletes_get_an_error_naming_them(join, frame, code):
    guest = await join("lobby")
    message = await sent(guest, "untouched")

    await guest.send_json_to({**frame, "client_id": "bad-1"})

    refusal = await guest.receive_json_from()
    assert (refusal["type"], refusal["code"], refusal["client_id"]) == ("error", code, "bad-1")
    assert (await saved(message["id"])).text == "untouched"


async def test_a_change_the_database_cannot_save_gets_an_error(join, monkeypatch):
    guest = await join("lobby")
    message = await sent(guest, "stays")

    def fail(*args, **kwargs):
        raise DatabaseError("the database is away")

    monkeypatch.setattr(Message, "save", fail)
    await guest.send_json_to({"type": "chat.edit", "id": message["id"], "message": "lost?"})

    refusal = await guest.receive_json_from()
    assert (refusal["code"], refusal["id"]) == (protocol.NOT_SAVED, message["id"])
    monkeypatch.undo()
    # The socket stays, and the change can be made again.
    await guest.send_json_to({"type": "chat.edit", "id": message["id"], "message": "now"})
    assert (await guest.receive_json_from())["message"] == "now"


@override_settings(CHAT_RATE_LIMIT_BURST=1, CHAT_RATE_LIMIT_PER_SECOND=0.001)
async def test_edits_count_against_the_flood_limit(join):
    guest = await join("lobby")
    message = await sent(guest, "one frame")

    await guest.send_json_to({"type": "chat.edit", "id": message["id"], "message": "two"})

    assert (await guest.receive_json_from())["code"] == protocol.RATE_LIMITED


async def test_a_page_joining_after_an_edit_does_not_get_history_read_before_it(
    join, connect, session_cookie
):
    # Sockets joining together share one reading of the room's history; an edit makes
    # that reading out of date, as a new message does.
    alice = await join("lobby", cookie=await session_cookie("alice"))
    message = await sent(alice, "old text")
    await join("lobby")  # reads the history, which the next joins could share
    await alice.send_json_to({"type": "chat.edit", "id": message["id"], "message": "new text"})
    await alice.receive_json_from()

    later = await connect("lobby")

    assert [m["message"] for m in (await later.receive_json_from())["messages"]] == ["new text"]


def test_the_admin_lists_edited_and_deleted_messages(admin_client):
    Message.objects.create(room="lobby", display_name="alice", text="", deleted=True)

    page = admin_client.get("/admin/rooms/message/?deleted__exact=1")

    assert page.status_code == 200
    assert page.context["cl"].result_count == 1


def test_history_frames_mark_edits_and_deletes():
    now = timezone.now()
    message = Message(
        id=7, room="lobby", display_name="alice", text="", created=now, edited_at=now, deleted=True
    )

    frame = history.message_frame(message)

    assert frame["deleted"] is True
    assert frame["edited_at"] == message.edited_at.isoformat()


async def test_edits_and_deletes_reach_every_server_process(start_server):
    # With Redis, each process delivers to its own sockets what the other changed.
    one = start_server()
    two = start_server() if stores.shared_by_processes() else one
    async with (
        open_websocket(room_url(one, "lobby"), origin=ORIGIN) as alice,
        open_websocket(room_url(two, "lobby"), origin=ORIGIN) as bob,
    ):
        await alice.send(json.dumps({"message": "typo"}))
        message = await receive(alice, "chat.message")
        assert (await receive(bob, "chat.message"))["id"] == message["id"]

        await alice.send(json.dumps({"type": "chat.edit", "id": message["id"], "message": "fixed"}))
        edit = await receive(bob, "chat.edit")
        assert (edit["id"], edit["message"]) == (message["id"], "fixed")

        await alice.send(json.dumps({"type": "chat.delete", "id": message["id"]}))
        assert (await receive(bob, "chat.delete"))["id"] == message["id"]


async def test_a_client_back_from_away_gets_the_edits_and_deletions_it_missed(join):
    author = await join("lobby")
    kept, edited, deleted = [await sent(author, text) for text in ("kept", "typo", "oops")]
    # The latest time the client that goes away saw.
    seen = edited["ts"]
    await author.send_json_to({"type": "chat.edit", "id": edited["id"], "message": "fixed"})
    await author.receive_json_from()
    await author.send_json_to({"type": "chat.delete", "id": deleted["id"]})
    await author.receive_json_from()

    back = await join("lobby")
    await back.send_json_to(
        {"type": "chat.resume", "after": deleted["id"], "changed_since": seen, "client_id": "r"}
    )

    page = await back.receive_json_from()
    assert (page["messages"], page["recovered"], page["client_id"]) == ([], True, "r")
    changes = {change["id"]: change for change in page["changes"]}
    assert kept["id"] not in changes
    assert changes[edited["id"]]["message"] == "fixed"
    assert (changes[deleted["id"]]["deleted"], changes[deleted["id"]]["message"]) == (True, "")


async def test_too_many_changes_to_resume_tell_the_client_to_reload(join, monkeypatch):
    monkeypatch.setattr(history, "MAX_RESUMED_CHANGES", 1)
    author = await join("lobby")
    messages = [await sent(author, text) for text in ("one", "two")]
    for message in messages:
        await author.send_json_to({"type": "chat.delete", "id": message["id"]})
        await author.receive_json_from()

    await author.send_json_to(
        {"type": "chat.resume", "after": messages[-1]["id"], "changed_since": messages[0]["ts"]}
    )

    page = await author.receive_json_from()
    assert (page["recovered"], page["changes"]) == (False, [])


@pytest.mark.parametrize("since", ["yesterday", "2026-01-02T03:04:05", 7, True, None])
async def test_a_bad_changed_since_gets_an_error(join, since):
    socket = await join("lobby")
    await socket.send_json_to({"type": "chat.resume", "after": 1, "changed_since": since})
    assert (await socket.receive_json_from())["code"] == protocol.INVALID_FRAME
