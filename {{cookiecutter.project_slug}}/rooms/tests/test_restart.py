"""A server restart loses no acknowledged message: a message is saved before anyone,
its sender included, receives it, and a reconnecting client resumes from its last id."""

import json

from websockets.asyncio.client import connect

from testing.processes import ORIGIN, stop_process
from testing.servers import receive, room_url


async def send_and_confirm(websocket, text):
    await websocket.send(json.dumps({"message": text}))
    confirmation = await receive(websocket, "chat.message")
    assert confirmation["message"] == text
    return confirmation["id"]


async def test_reconnecting_client_resumes_without_loss_or_repeats(start_server):
    before = start_server()
    async with (
        connect(room_url(before, "restart"), origin=ORIGIN) as alice,
        connect(room_url(before, "restart"), origin=ORIGIN) as bob,
    ):
        sent = [await send_and_confirm(alice, f"message {number}") for number in range(3)]
        bob_last_id = (await receive(bob, "chat.message"))["id"]
        assert bob_last_id == sent[0]

    stop_process(before)
    after = start_server()
    async with connect(room_url(after, "restart"), origin=ORIGIN) as alice:
        sent += [await send_and_confirm(alice, f"message {number}") for number in range(3, 5)]

    async with connect(room_url(after, "restart"), origin=ORIGIN) as bob:
        await receive(bob, "chat.history")
        await bob.send(json.dumps({"type": "chat.resume", "after": bob_last_id}))
        resumed = await receive(bob, "chat.history")

    assert [message["id"] for message in resumed["messages"]] == sent[1:]
    assert [message["message"] for message in resumed["messages"]] == [
        f"message {number}" for number in range(1, 5)
    ]
    assert resumed["more"] is False
