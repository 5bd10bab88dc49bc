"""Who is online, and who is typing."""

import asyncio
import json

import pytest
from channels.layers import get_channel_layer
from django.test import override_settings

from chat import presence
from chat.room_names import group_name
from testing.fixtures import nothing_arrives, post

pytestmark = pytest.mark.django_db(transaction=True)


async def test_joining_is_announced_with_the_list_of_who_is_online(join, session_cookie, room):
    alice = await join(room, cookie=await session_cookie("alice"))
    assert (await alice.receive_presence())["users"] == ["alice"]

    await join(room, cookie=await session_cookie("bob"))

    frame = await alice.receive_presence()
    assert frame == {"type": "presence", "users": ["alice", "bob"], "count": 2, "joined": "bob"}


async def test_churn_by_one_user_costs_the_room_a_bounded_number_of_frames(
    join, session_cookie, room
):
    bob = await join(room, cookie=await session_cookie("bob"))
    await bob.receive_presence()
    alice_cookie = await session_cookie("alice")

    for _ in range(10):
        alice = await join(room, cookie=alice_cookie)
        await alice.disconnect()
    await post(room, "marker")

    frames = []
    while (frame := await bob.receive_output())["type"] == "websocket.send":
        frame = json.loads(frame["text"])
        if frame.get("message") == "marker":
            break
        frames.append(frame)
    assert len(frames) == presence.ANNOUNCEMENTS_BURST
    # What bob was told last may be out of date until the next renewal, which reads it.
    assert frames[-1]["left"] == "alice"


async def test_a_user_with_several_tabs_is_listed_once_and_leaves_with_the_last(
    join, session_cookie, room
):
    bob = await join(room, cookie=await session_cookie("bob"))
    await bob.receive_presence()
    alice_cookie = await session_cookie("alice")
    first_tab = await join(room, cookie=alice_cookie)
    assert (await bob.receive_presence())["joined"] == "alice"
    await first_tab.receive_presence()

    # Other tabs of a user who stays online are no news: nothing reaches the others.
    second_tab = await join(room, cookie=alice_cookie)
    assert (await second_tab.receive_presence())["users"] == ["alice", "bob"]
    assert await nothing_arrives(bob, first_tab, presence_too=True)

    await second_tab.disconnect()
    assert await nothing_arrives(bob, first_tab, presence_too=True)

    await first_tab.disconnect()
    assert await bob.receive_presence() == {
        "type": "presence",
        "users": ["bob"],
        "count": 1,
        "left": "alice",
    }


async def test_presence_is_per_room(join, session_cookie, room):
    alice = await join(room, cookie=await session_cookie("alice"))
    await alice.receive_presence()

    bob = await join(f"{room}-elsewhere", cookie=await session_cookie("bob"))
    assert (await bob.receive_presence())["joined"] == "bob"

    assert await alice.receive_nothing(presence_too=True)


# Long enough for the ghost to outlive Alice's join on a busy machine.
@override_settings(CHAT_PRESENCE_TTL=2)
async def test_entries_that_are_not_renewed_expire(join, session_cookie, room):
    # A socket of a server process that died stops renewing its entry.
    cookie = await session_cookie("alice")
    store = presence.store_for(get_channel_layer())
    await store.add(group_name(room), "dead-process-channel", "ghost")
    alice = await join(room, cookie=cookie)
    assert (await alice.receive_presence())["users"] == ["alice", "ghost"]

    assert (await alice.receive_presence(timeout=8))["users"] == ["alice"]


async def test_an_entry_expires_on_time_beside_longer_lived_ones(room):
    # The store may skip looking for expired entries until the first is due; one added
    # with a shorter lifetime is due first.
    store = presence.store_for(get_channel_layer())
    group = group_name(room)
    with override_settings(CHAT_PRESENCE_TTL=60):
        await store.add(group, "long-lived", "alice")
    with override_settings(CHAT_PRESENCE_TTL=0.2):
        await store.add(group, "short-lived", "bob")
    await asyncio.sleep(0.3)

    assert await store.users(group) == {"alice": 1}
    assert await store.renew(group, {}) == (1, False)


# Entries renewed every second: soon enough for a test to wait for a renewal, and long
# enough lived (this many seconds) that none expires while a loaded machine runs the
# test, even where a test holds the renewals back.
RENEWING_TTL = 3


@override_settings(CHAT_PRESENCE_TTL=RENEWING_TTL)
async def test_big_rooms_learn_of_joins_by_refreshing(join, session_cookie, room, monkeypatch):
    monkeypatch.setattr(presence, "ANNOUNCE_LIMIT", 1)
    alice = await join(room, cookie=await session_cookie("alice"))
    await alice.receive_presence()

    bob = await join(room, cookie=await session_cookie("bob"))
    assert (await bob.receive_presence())["users"] == ["alice", "bob"]

    assert (await alice.receive_presence(timeout=5))["users"] == ["alice", "bob"]


class Calls:
    """Stands in for an async method of the presence store, counting the calls to it."""

    def __init__(self, function):
        self.function = function
        self.count = 0

    async def __call__(self, *args):
        self.count += 1
        return await self.function(*args)


@override_settings(CHAT_PRESENCE_TTL=RENEWING_TTL)
async def test_a_renewal_reads_the_list_once_per_room_not_once_per_socket(
    join, session_cookie, room, monkeypatch
):
    monkeypatch.setattr(presence, "ANNOUNCE_LIMIT", 1)
    sockets = [await join(room, cookie=await session_cookie(f"user{i}")) for i in range(5)]
    store = presence.store_for(get_channel_layer())
    reads = Calls(store.users)
    monkeypatch.setattr(store, "users", reads)

    for socket in sockets:
        while (await socket.receive_presence(timeout=5))["count"] < len(sockets):
            pass
    assert reads.count <= 1


@override_settings(CHAT_PRESENCE_TTL=RENEWING_TTL)
async def test_a_crowd_joining_a_big_room_does_not_read_the_list_for_each_join(
    join, session_cookie, room, monkeypatch
):
    monkeypatch.setattr(presence, "ANNOUNCE_LIMIT", 1)
    alice = await join(room, cookie=await session_cookie("alice"))
    await join(room, cookie=await session_cookie("bob"))
    store = presence.store_for(get_channel_layer())
    list_reads = [Calls(store.add), Calls(store.remove)]
    monkeypatch.setattr(store, "add", list_reads[0])
    monkeypatch.setattr(store, "remove", list_reads[1])

    crowd = [await join(room, cookie=await session_cookie(f"user{i}")) for i in range(5)]
    frame = await crowd[-1].receive_presence()
    # The crowd joins at once: one still being listed when the last one joined is counted
    # at the next renewal.
    while frame["count"] < 7:
        frame = await crowd[-1].receive_presence(timeout=5)
    for socket in crowd:
        await socket.disconnect()

    assert [calls.count for calls in list_reads] == [0, 0]
    assert frame["count"] == 7
    assert frame["users"][:2] == ["alice", "bob"]
    # The renewals bring the others the list, read once per room and process.
    while (await alice.receive_presence(timeout=5))["count"] != 2:
        pass


@override_settings(CHAT_PRESENCE_TTL=RENEWING_TTL)
async def test_a_renewal_that_read_the_list_before_a_join_does_not_forget_it(
    join, session_cookie, room, monkeypatch
):
    monkeypatch.setattr(presence, "ANNOUNCE_LIMIT", 1)
    await join(room, cookie=await session_cookie("alice"))
    await join(room, cookie=await session_cookie("bob"))
    store = presence.store_for(get_channel_layer())
    read, answer, renewed, never = (asyncio.Event() for _ in range(4))
    users, renew = store.users, store.renew

    async def users_answered_late(group):
        online = await users(group)
        read.set()
        await answer.wait()
        return online

    async def renewal_held(group, sockets):
        if len(sockets) == 1:
            return await renew(group, sockets)  # a join, writing its own entry
        # The next renewal, which would read the list again, waits: what is checked below
        # is what the one before it left.
        renewed.set()
        await never.wait()

    monkeypatch.setattr(store, "users", users_answered_late)
    await asyncio.wait_for(read.wait(), timeout=5)
    # Carol joins while a renewal's read of the list, which lacks her, is on its way.
    carol = await join(room, cookie=await session_cookie("carol"))
    assert (await carol.receive_presence())["joined"] == "carol"
    monkeypatch.setattr(store, "users", users)
    monkeypatch.setattr(store, "renew", renewal_held)
    answer.set()
    await asyncio.wait_for(renewed.wait(), timeout=5)  # the late renewal is over

    dave = await join(room, cookie=await session_cookie("dave"))

    assert (await dave.receive_presence())["users"] == ["alice", "bob", "carol", "dave"]


async def test_typing_reaches_the_others_at_most_every_two_seconds(join, session_cookie, room):
    alice = await join(room, cookie=await session_cookie("alice"))
    bob = await join(room, cookie=await session_cookie("bob"))

    await alice.send_json_to({"type": "typing"})
    await alice.send_json_to({"type": "typing"})

    assert await bob.receive_json_from() == {"type": "typing", "user": "alice", "guest": False}
    assert await nothing_arrives(alice, bob, after=alice)
    await asyncio.sleep(presence.TYPING_INTERVAL)
    await alice.send_json_to({"type": "typing"})
    assert await bob.receive_json_from() == {"type": "typing", "user": "alice", "guest": False}
