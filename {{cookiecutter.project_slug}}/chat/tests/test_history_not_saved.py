"""This project does not save messages: sockets get empty history pages, and nothing is
kept."""

import pytest

from chat import history, protocol

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
    "request_frame",
    [
        {"type": "chat.resume", "after": 0, "client_id": "r-1"},
        {"type": "chat.history", "before": 10, "client_id": "r-1"},
    ],
)
async def test_history_requests_get_an_empty_page_naming_the_request(join, request_frame):
    alice = await join("lobby")
    await alice.send_json_to({"message": "not kept"})
    await alice.receive_json_from()

    await alice.send_json_to(request_frame)

    assert await alice.receive_json_from() == {
        "type": protocol.CHAT_HISTORY,
        "messages": [],
        "more": False,
        "client_id": "r-1",
    }


def test_the_lobby_lists_no_active_rooms(client):
    assert history.active_rooms() == []
    assert client.get("/").context["active_rooms"] == []
