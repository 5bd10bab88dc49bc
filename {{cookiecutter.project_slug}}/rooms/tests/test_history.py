import pytest
from channels.db import database_sync_to_async
from django.db import DatabaseError
from django.test import override_settings

from chat import protocol
from rooms import history
from rooms.models import Message
from rooms.tests.makers import say

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def add_messages(room, count):
    Message.objects.bulk_create(
        Message(room=room, display_name="guest-1", text=f"message {number}")
        for number in range(count)
    )


async def test_new_socket_receives_the_last_50_messages_oldest_first(connect):
    await add_messages("lobby", 55)
    await add_messages("elsewhere", 3)

    communicator = await connect("lobby")

    frame = await communicator.receive_json_from()
    assert frame["type"] == "chat.history"
    assert [message["message"] for message in frame["messages"]] == [
        f"message {number}" for number in range(5, 55)
    ]
    ids = [message["id"] for message in frame["messages"]]
    assert ids == sorted(ids)
    assert all(message["type"] == "chat.message" for message in frame["messages"])


async def test_message_is_saved_before_it_is_broadcast(join):
    alice = await join("lobby")

    await alice.send_json_to({"message": "keep me"})
    frame = await alice.receive_json_from()

    saved = await database_sync_to_async(Message.objects.get)(id=frame["id"])
    assert (saved.room, saved.text, saved.display_name) == ("lobby", "keep me", frame["user"])


async def test_history_carries_what_was_broadcast(join, connect):
    alice = await join("lobby")
    await alice.send_json_to({"message": "remember"})
    broadcast = await alice.receive_json_from()
    await alice.disconnect()

    later = await connect("lobby")

    assert (await later.receive_json_from())["messages"] == [broadcast]


async def test_message_that_cannot_be_saved_is_not_broadcast(join, monkeypatch):
    alice = await join("lobby")
    bob = await join("lobby")

    async def failing_save(**kwargs):
        raise DatabaseError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(history, "save_message", failing_save)
        await alice.send_json_to({"message": "lost?", "client_id": "c-1"})

        frame = await alice.receive_json_from()
        assert frame["type"] == "error"
        assert (frame["code"], frame["client_id"]) == (protocol.NOT_SAVED, "c-1")
        assert await bob.receive_nothing()

    await alice.send_json_to({"message": "again"})
    assert (await bob.receive_json_from())["message"] == "again"


async def test_logged_in_sender_is_linked_to_the_message(join, session_cookie):
    alice = await join("lobby", cookie=await session_cookie("alice"))

    await alice.send_json_to({"message": "mine"})
    frame = await alice.receive_json_from()

    saved = await database_sync_to_async(Message.objects.select_related("user").get)(id=frame["id"])
    assert saved.user.username == "alice"


def test_active_rooms_are_listed_most_recent_first(client):
    for room in ["old", "newer", "old", "newest"]:
        for writer in ("guest-1", "guest-2"):
            say(room, writer)

    with override_settings(CHAT_LOBBY_ROOMS=2):
        assert history.active_rooms() == ["newest", "old"]
    assert client.get("/").context["active_rooms"] == ["newest", "old", "newer"]


def test_a_room_one_guest_wrote_in_alone_is_not_listed():
    # As a flood of one-shot sockets would make them, one room each.
    for number in range(3):
        say(f"spam {number}", f"guest-{number}")
        say(f"spam {number}", f"guest-{number}", "again")
    say("answered", "guest-1", "anyone?")
    say("answered", "guest-2", "yes")
    say("alices", "alice")

    assert history.active_rooms() == ["alices", "answered"]


async def test_resume_sends_the_missed_messages_in_order_then_says_there_are_no_more(join):
    await add_messages("lobby", 5)
    alice = await join("lobby")
    await alice.send_json_to({"type": "chat.resume", "after": 0})
    first_two = [message["id"] for message in (await alice.receive_json_from())["messages"][:2]]

    await alice.send_json_to({"type": "chat.resume", "after": first_two[-1]})

    frame = await alice.receive_json_from()
    assert frame["type"] == "chat.history"
    assert [message["message"] for message in frame["messages"]] == [
        "message 2",
        "message 3",
        "message 4",
    ]
    assert frame["more"] is False
    assert frame["recovered"] is True


async def test_a_resume_from_history_that_is_gone_says_it_did_not_recover(join):
    await add_messages("lobby", 4)
    await add_messages("elsewhere", 1)
    alice = await join("lobby")
    lobby = await database_sync_to_async(list)(
        Message.objects.filter(room="lobby").order_by("id").values_list("id", flat=True)
    )
    elsewhere = (await database_sync_to_async(Message.objects.get)(room="elsewhere")).id
    delete = database_sync_to_async(lambda ids: Message.objects.filter(id__in=ids).delete())

    # The client's last message was deleted, but later ones are there: nothing is missed.
    await delete([lobby[0]])
    await alice.send_json_to({"type": "chat.resume", "after": lobby[0]})
    frame = await alice.receive_json_from()
    assert [message["id"] for message in frame["messages"]] == lobby[1:]
    assert frame["recovered"] is True

    # Neither it nor anything later is in the room: it belongs to another room, or was
    # lost with a database restored from an older backup, with whatever followed it.
    await delete(lobby[-2:])
    for after in (lobby[-1], elsewhere, lobby[-1] + 1000):
        await alice.send_json_to({"type": "chat.resume", "after": after, "client_id": "r"})
        frame = await alice.receive_json_from()
        assert (frame["type"], frame["recovered"]) == (protocol.CHAT_HISTORY, False)


@override_settings(CHAT_HISTORY_LENGTH=2)
async def test_resume_pages_through_many_missed_messages(join):
    await add_messages("lobby", 5)
    alice = await join("lobby")
    received = []
    after = 0
    more = True

    while more:
        await alice.send_json_to({"type": "chat.resume", "after": after})
        frame = await alice.receive_json_from()
        received += [message["message"] for message in frame["messages"]]
        after = frame["messages"][-1]["id"] if frame["messages"] else after
        more = frame["more"]

    assert received == [f"message {number}" for number in range(5)]


@pytest.mark.parametrize("after", [None, "12", -1, 1.5, True, 2**63, [1]])
async def test_resume_with_a_bad_id_gets_an_error(join, after):
    alice = await join("lobby")

    await alice.send_json_to({"type": "chat.resume", "after": after})

    frame = await alice.receive_json_from()
    assert frame["type"] == "error"
    assert frame["code"] == protocol.INVALID_FRAME


async def test_a_join_whose_history_cannot_be_read_is_told_and_stays(connect, room, monkeypatch):
    async def failing_read(*args, **kwargs):
        raise DatabaseError("connection lost")

    with monkeypatch.context() as patch:
        patch.setattr(history, "history_frame", failing_read)
        alice = await connect(room)
        frame = await alice.receive_json_from()
        assert (frame["type"], frame["code"]) == ("error", protocol.HISTORY_UNAVAILABLE)

    # The next join reads again: a failed reading is not shared.
    bob = await connect(room)
    assert (await bob.receive_json_from())["type"] == protocol.CHAT_HISTORY
    await alice.send_json_to({"message": "still connected"})
    while (frame := await alice.receive_json_from())["type"] != protocol.CHAT_MESSAGE:
        assert frame["type"] == protocol.PRESENCE
    assert frame["message"] == "still connected"


async def test_history_that_cannot_be_read_gets_an_error_and_the_socket_stays(join, monkeypatch):
    alice = await join("lobby")

    async def failing_read(*args):
        raise DatabaseError("connection lost")

    with monkeypatch.context() as patch:
        patch.setattr(history, "resume_frame", failing_read)
        await alice.send_json_to({"type": "chat.resume", "after": 0, "client_id": "r-1"})
        frame = await alice.receive_json_from()
        assert (frame["code"], frame["client_id"]) == (protocol.HISTORY_UNAVAILABLE, "r-1")

    await alice.send_json_to({"message": "still connected"})
    assert (await alice.receive_json_from())["message"] == "still connected"


async def test_older_pages_come_oldest_first_until_there_are_no_more(join, connect):
    await add_messages("lobby", 120)
    alice = await connect("lobby")
    latest = await alice.receive_json_from()
    assert latest["more"] is True
    received = [message["message"] for message in latest["messages"]]

    page = latest
    while page["more"]:
        await alice.send_json_to({"type": "chat.history", "before": page["messages"][0]["id"]})
        page = await alice.receive_json_from()
        assert len(page["messages"]) <= 50
        received = [message["message"] for message in page["messages"]] + received

    assert received == [f"message {number}" for number in range(120)]


async def test_page_size_is_capped_by_the_server(connect):
    await add_messages("lobby", 80)
    alice = await connect("lobby")
    newest_id = (await alice.receive_json_from())["messages"][-1]["id"]

    await alice.send_json_to({"type": "chat.history", "before": newest_id + 1, "limit": 10_000})
    assert len((await alice.receive_json_from())["messages"]) == 50
    await alice.send_json_to({"type": "chat.history", "before": newest_id + 1, "limit": 3})
    assert len((await alice.receive_json_from())["messages"]) == 3


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "chat.history"},
        {"type": "chat.history", "before": "5"},
        {"type": "chat.history", "before": 5, "limit": 0},
        {"type": "chat.history", "before": 5, "limit": "10"},
    ],
)
async def test_bad_history_request_gets_an_error(join, frame):
    alice = await join("lobby")

    await alice.send_json_to(frame)

    assert (await alice.receive_json_from())["code"] == protocol.INVALID_FRAME


async def test_each_history_page_names_the_request_it_answers(join):
    # Clients match pages to requests by client_id, not by order: a request may be
    # answered with an error instead, or overtaken by another.
    await add_messages("lobby", 3)
    alice = await join("lobby")
    first_id = (await database_sync_to_async(Message.objects.first)()).id

    await alice.send_json_to({"type": "chat.history", "before": first_id + 2, "client_id": "h-1"})
    await alice.send_json_to({"type": "chat.resume", "after": first_id, "client_id": "r-2"})

    older = await alice.receive_json_from()
    assert (older["client_id"], [m["message"] for m in older["messages"]]) == (
        "h-1",
        ["message 0", "message 1"],
    )
    missed = await alice.receive_json_from()
    assert (missed["client_id"], [m["message"] for m in missed["messages"]]) == (
        "r-2",
        ["message 1", "message 2"],
    )


@override_settings(CHAT_RATE_LIMIT_BURST=1, CHAT_RATE_LIMIT_PER_SECOND=0.01)
async def test_a_history_request_over_the_flood_limit_is_refused_by_name(join):
    alice = await join("lobby")
    await alice.send_json_to({"type": "chat.history", "before": 1, "client_id": "h-1"})
    assert (await alice.receive_json_from())["client_id"] == "h-1"

    await alice.send_json_to({"type": "chat.history", "before": 1, "client_id": "h-2"})

    frame = await alice.receive_json_from()
    assert (frame["code"], frame["client_id"]) == (protocol.RATE_LIMITED, "h-2")


async def test_a_message_sent_again_is_saved_once_and_keeps_its_id(join, session_cookie):
    cookie = await session_cookie("alice")
    alice = await join("lobby", cookie=cookie)
    await alice.send_json_to({"message": "once", "client_id": "c-1"})
    sent = await alice.receive_json_from()

    again = await join("lobby", cookie=cookie)
    await again.send_json_to({"message": "once", "client_id": "c-1"})

    assert (await again.receive_json_from())["id"] == sent["id"]
    assert await Message.objects.filter(text="once").acount() == 1
