"""Two real server processes sharing Redis deliver each other's messages.

This is the topology of a scaled-out deployment: daphne processes behind a proxy, one
Redis.
"""

import asyncio
import json

from websockets.asyncio.client import connect

from chat import protocol
from testing.processes import ORIGIN
from testing.servers import HttpSession, receive, room_url, wait_closed


async def test_servers_sharing_redis_deliver_each_others_messages(start_server):
    one, two = start_server(), start_server()
    room = "서울 café 🎉"
    async with (
        connect(room_url(one, room), origin=ORIGIN) as alice,
        connect(room_url(two, room), origin=ORIGIN) as bob,
    ):
        await alice.send(json.dumps({"message": "from server one"}))
        await bob.send(json.dumps({"message": "from server two"}))

        for websocket in (alice, bob):
            received = {(await receive(websocket, "chat.message"))["message"] for _ in range(2)}
            assert received == {"from server one", "from server two"}


async def test_idle_socket_still_receives_after_redis_read_timeout(start_server):
    # redis-py 8 drops channels-redis connections idle for 5 s; see pyproject.toml.
    url = room_url(start_server(), "idle")
    async with connect(url, origin=ORIGIN) as alice, connect(url, origin=ORIGIN) as bob:
        await asyncio.sleep(6)
        await alice.send(json.dumps({"message": "still there?"}))

        assert (await receive(bob, "chat.message"))["message"] == "still there?"


async def test_presence_spans_processes_and_forgets_a_process_that_died(start_server):
    one = start_server(CHAT_PRESENCE_TTL="1.5")
    two = start_server(CHAT_PRESENCE_TTL="1.5")
    async with connect(room_url(one, "presence"), origin=ORIGIN) as alice:
        first = await receive(alice, "presence")
        async with connect(room_url(two, "presence"), origin=ORIGIN) as bob:
            joined = await receive(alice, "presence")
            assert joined["joined"] in joined["users"]
            assert len(joined["users"]) == 2
            assert (await receive(bob, "presence"))["users"] == joined["users"]

            two.kill()  # no goodbye: bob's entry must expire
            two.wait()
            assert (await receive(alice, "presence", timeout=10))["users"] == first["users"]


async def test_a_senders_sockets_on_all_processes_share_one_flood_limit(start_server):
    limits = {"CHAT_RATE_LIMIT_BURST": "2", "CHAT_RATE_LIMIT_PER_SECOND": "0.01"}
    one, two = start_server(**limits), start_server(**limits)
    guest = HttpSession()
    assert await asyncio.to_thread(guest.get, one, "/chat/lobby/") == 200
    headers = guest.cookie_header()
    async with (
        connect(room_url(one, "lobby"), origin=ORIGIN, additional_headers=headers) as first,
        connect(room_url(two, "lobby"), origin=ORIGIN, additional_headers=headers) as second,
    ):
        for websocket, text in ((first, "from one"), (second, "from two")):
            await websocket.send(json.dumps({"message": text}))
            while (await receive(websocket, "chat.message"))["message"] != text:
                pass
        await first.send(json.dumps({"message": "one too many"}))

        assert (await receive(first, "error"))["code"] == "rate_limited"


async def test_a_senders_sockets_on_all_processes_count_against_one_cap(start_server):
    one, two = (start_server(CHAT_MAX_SOCKETS_PER_SENDER="1") for _ in range(2))
    guest = HttpSession()
    assert await asyncio.to_thread(guest.get, one, "/chat/lobby/") == 200
    headers = guest.cookie_header()
    async with (
        connect(room_url(one, "lobby"), origin=ORIGIN, additional_headers=headers),
        connect(room_url(two, "lobby"), origin=ORIGIN, additional_headers=headers) as refused,
    ):
        assert await wait_closed(refused) == protocol.CLOSE_TOO_MANY_SOCKETS
