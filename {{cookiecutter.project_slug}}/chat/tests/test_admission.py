"""A crowd joining at once (chat.limits.admission): sockets join a few at a time, in turn; past
the waiting limit, or after waiting too long, they are refused with "try again later";
and a crowd is not announced one join at a time."""

import asyncio
import contextlib

import pytest
from django.test import override_settings

from chat import protocol
from chat.limits import admission
from testing.servers import until

pytestmark = pytest.mark.django_db(transaction=True)


@contextlib.asynccontextmanager
async def every_slot_taken():
    """Hold every slot of this event loop's admission, as joins in progress would."""
    slots = admission.admission().slots
    for _ in range(admission.JOINS_AT_ONCE):
        await slots.acquire()
    try:
        yield slots
    finally:
        for _ in range(admission.JOINS_AT_ONCE):
            slots.release()


async def test_a_socket_waits_its_turn_then_joins(connect, room):
    async with every_slot_taken() as slots:
        joining = asyncio.create_task(connect(room))
        await until(lambda: admission.admission().waiting == 1, "the socket to wait")
        assert not joining.done()
        slots.release()  # one join ends
        alice = await asyncio.wait_for(joining, 5)
        await slots.acquire()
    assert (await alice.receive_json_from())["type"] == protocol.CHAT_HISTORY
    assert admission.admission().waiting == 0


@override_settings(CHAT_MAX_WAITING_JOINS=1)
async def test_past_the_waiting_limit_a_socket_is_told_to_try_again_later(connect, room):
    async with every_slot_taken() as slots:
        waiting = asyncio.create_task(connect(room))
        await until(lambda: admission.admission().waiting == 1, "the first socket to wait")
        refused = await connect(room)
        assert await refused.receive_json_from() == {
            "type": "error",
            "code": protocol.UNAVAILABLE,
            "detail": "The chat is unavailable for a moment. Reconnect in a few seconds.",
        }
        assert await refused.receive_output() == {
            "type": "websocket.close",
            "code": protocol.CLOSE_TRY_AGAIN_LATER,
        }
        slots.release()
        await asyncio.wait_for(waiting, 5)
        await slots.acquire()


async def test_a_socket_whose_turn_does_not_come_is_told_to_try_again_later(
    connect, room, monkeypatch
):
    monkeypatch.setattr(admission, "WAIT_SECONDS", 0.2)
    async with every_slot_taken():
        refused = await connect(room)
        assert (await refused.receive_json_from())["code"] == protocol.UNAVAILABLE
        assert await refused.receive_output() == {
            "type": "websocket.close",
            "code": protocol.CLOSE_TRY_AGAIN_LATER,
        }
    assert admission.admission().waiting == 0


async def test_a_crowd_is_announced_once_it_is_in(join, session_cookie, room):
    alice = await join(room, cookie=await session_cookie("alice"))
    await alice.receive_presence()
    bob_cookie = await session_cookie("bob")

    async with every_slot_taken() as slots:
        slots.release()  # a slot for Bob, while a crowd (one socket) waits behind him
        admission.admission().waiting += 1
        try:
            bob = await join(room, cookie=bob_cookie)
            # Bob gets the list at once; Alice is not told of each of the crowd.
            assert (await bob.receive_presence())["users"] == ["alice", "bob"]
            assert await alice.receive_nothing(presence_too=True)
        finally:
            admission.admission().waiting -= 1
        await slots.acquire()
    # Once the crowd is in, the room is told who came, in one frame.
    frame = await alice.receive_presence(timeout=3)
    assert frame["users"] == ["alice", "bob"]
    assert "joined" not in frame
