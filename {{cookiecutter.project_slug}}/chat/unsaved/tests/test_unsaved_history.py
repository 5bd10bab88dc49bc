"""This project does not save messages: sockets get empty history pages, and nothing is
kept."""

import pytest

from chat import protocol
from chat.unsaved import history

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_new_socket_gets_an_empty_page_even_after_messages_were_sent(join, connect):
    alice = await join("lobby")
    await alice.send_json_to({"message": "not kept"})
    assert "id" not in await alice.receive_json_from()

    later = await connect("lobby")

    assert await later.receive_json_from() == {
        "type": protocol.CHAT_HISTORY,
        "messages": [],
        "more": False,
    }


@pytest.mark.parametrize(
    ("request_frame", "answer"),
    [
        # Nothing sent while the client was away can be given back.
        ({"type": "chat.resume", "after": 0, "client_id": "r-1"}, {"recovered": False}),
        ({"type": "chat.history", "before": 10, "client_id": "r-1"}, {}),
    ],
)
async def test_history_requests_get_an_empty_page_naming_the_request(join, request_frame, answer):
    alice = await join("lobby")
    await alice.send_json_to({"message": "not kept"})
    await alice.receive_json_from()

    await alice.send_json_to(request_frame)

    assert await alice.receive_json_from() == {
        "type": protocol.CHAT_HISTORY,
        "messages": [],
        "more": False,
        **answer,
        "client_id": "r-1",
    }


def test_the_lobby_lists_no_active_rooms(client):
    assert history.active_rooms() == []
    assert client.get("/").context["active_rooms"] == []


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "chat.edit", "id": 1, "message": "changed"},
        {"type": "chat.delete", "id": 1},
    ],
)
async def test_nothing_saved_can_be_edited_or_deleted(join, frame):
    alice = await join("lobby")

    await alice.send_json_to({**frame, "client_id": "c-1"})

    refusal = await alice.receive_json_from()
    assert (refusal["code"], refusal["id"], refusal["client_id"]) == (protocol.NOT_FOUND, 1, "c-1")


async def test_a_reply_is_refused_as_there_is_no_message_to_answer(join):
    alice = await join("lobby")

    await alice.send_json_to({"message": "yes", "reply_to": 1, "client_id": "m-1"})

    frame = await alice.receive_json_from()
    assert (frame["code"], frame["client_id"]) == (protocol.NOT_FOUND, "m-1")
    assert "not saved" in frame["detail"]
    await alice.send_json_to({"message": "still here"})
    assert (await alice.receive_json_from())["message"] == "still here"
