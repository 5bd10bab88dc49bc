"""Replies: a message that answers another of its room carries what it answers, as that
message stands, wherever it comes (the broadcast, history, resumes, the HTTP API)."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import AsyncClient
from django.test.utils import CaptureQueriesContext

from api import tokens
from chat import protocol
from rooms import history
from rooms.tests.makers import asay, make_room, say

pytestmark = pytest.mark.django_db(transaction=True)


async def reply(socket, answered_id, text="yes", client_id="r-1"):
    await socket.send_json_to({"message": text, "reply_to": answered_id, "client_id": client_id})
    return await socket.receive_json_from()


async def test_a_reply_reaches_everyone_with_what_it_answers(join, room):
    question = await asay(room, "alice", "Shall we meet at three? " + "x" * 200)
    alice, bob = await join(room), await join(room)

    sent = await reply(bob, question.id, "Three works for me.")

    assert sent["reply_to"] == {
        "id": question.id,
        "user": "alice",
        "message": question.text[: protocol.REPLY_EXCERPT_LENGTH],
    }
    assert (sent["message"], sent["client_id"]) == ("Three works for me.", "r-1")
    assert await alice.receive_json_from() == sent


async def test_history_and_resumes_show_what_a_reply_answers_as_it_stands_now(join, room):
    question = await asay(room, "alice", "Shall we meet at three?")
    alice = await get_user_model().objects.aget(username="alice")
    bob = await join(room)
    answer = await reply(bob, question.id)

    await history.edit_message(
        room=room, message_id=question.id, user=alice, guest_key="", text="At four?"
    )
    carol = await join(room)
    await carol.send_json_to({"type": "chat.history", "before": answer["id"] + 1})
    [*_, shown] = (await carol.receive_json_from())["messages"]
    assert shown["reply_to"] == {"id": question.id, "user": "alice", "message": "At four?"}

    await history.erase_message(room=room, message_id=question.id, user=alice, guest_key="")
    await carol.send_json_to({"type": "chat.resume", "after": question.id})
    [shown] = (await carol.receive_json_from())["messages"]
    assert shown["reply_to"] == {"id": question.id, "user": "alice", "message": "", "deleted": True}

    # A deleted message may still be answered: the reply shows it deleted.
    late = await reply(bob, question.id, "too late", client_id="r-2")
    assert late["reply_to"]["deleted"] is True


@pytest.fixture
def other_rooms_message(room):
    """A message of a public room and one of a private room, neither of ``room``."""

    async def made():
        elsewhere = await asay(f"{room}-elsewhere", "alice", "elsewhere")
        private = await database_sync_to_async(make_room)(f"{room}-private", "alice", "bob")
        hidden = await asay(private.name, "alice", "members only")
        return {"public": elsewhere.id, "private": hidden.id}

    return made


@pytest.mark.parametrize("where", ["public", "private", "never"])
async def test_a_reply_to_no_message_of_the_room_is_refused_and_nothing_is_sent(
    join, room, other_rooms_message, where
):
    ids = await other_rooms_message()
    answered_id = ids.get(where, max(ids.values()) + 1000)
    alice, bob = await join(room), await join(room)

    refused = await reply(bob, answered_id)

    assert refused["type"] == protocol.ERROR
    assert (refused["code"], refused["client_id"]) == (protocol.NOT_FOUND, "r-1")
    assert await alice.receive_nothing(after=bob)


@pytest.mark.parametrize("reply_to", ["42", -1, 1.5, True, 2**63, [1], {"id": 1}])
async def test_a_reply_to_that_is_no_id_gets_an_error(join, reply_to):
    alice = await join("lobby")

    refused = await reply(alice, reply_to)

    assert (refused["code"], refused["client_id"]) == (protocol.INVALID_FRAME, "r-1")
    assert "reply_to" in refused["detail"]


def test_a_page_of_replies_is_read_in_one_query(room):
    question = say(room, "alice", "a question")
    for number in range(30):
        async_to_sync(history.save_message)(
            room=room,
            user=question.user,
            display_name="alice",
            text=f"answer {number}",
            reply_to=question.id,
        )

    with CaptureQueriesContext(connection) as captured:
        page = async_to_sync(history.history_frame)(room)

    assert sum("reply_to" in message for message in page["messages"]) == 30
    assert len(captured) == 1


async def test_the_api_posts_and_shows_replies(room):
    question = await asay(room, "alice", "Shall we meet at three?")
    user = await get_user_model().objects.aget(username="alice")
    key = (await database_sync_to_async(tokens.issue)(user, "tests"))[1]
    client, bearer = AsyncClient(), {"Authorization": f"Bearer {key}"}
    path = f"/api/rooms/{room}/messages/"

    async def post(body):
        return await client.post(path, body, content_type="application/json", headers=bearer)

    posted = await post({"message": "yes", "reply_to": question.id})
    assert posted.status_code == 201
    assert posted.json()["reply_to"]["id"] == question.id

    page = (await client.get(path, headers=bearer)).json()
    assert page["messages"][-1]["reply_to"]["message"] == "Shall we meet at three?"

    refused = await post({"message": "yes", "reply_to": question.id + 1000})
    assert (refused.status_code, refused.json()["code"]) == (404, protocol.NOT_FOUND)
    refused = await post({"message": "yes", "reply_to": -1})
    assert (refused.status_code, refused.json()["code"]) == (400, protocol.INVALID_FRAME)
    schema = (await client.get("/api/openapi.json")).json()
    assert "reply_to" in schema["components"]["schemas"]["MessageIn"]["properties"]
