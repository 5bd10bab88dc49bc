"""One room object per room and server process: one subscription, shared by the process's
sockets there, delivered to with one error policy."""

import asyncio
import json
from collections import Counter

import pytest
from channels.layers import get_channel_layer
from prometheus_client import REGISTRY

from chat import events, local_rooms, presence
from chat.room_names import group_name
from chat.rooms_backend import history
from testing.fixtures import post

pytestmark = pytest.mark.django_db(transaction=True)


class Inbox:
    """Stands in for a socket: records the events the room hands it."""

    def __init__(self):
        self.events = asyncio.Queue()

    async def __call__(self, event):
        await self.events.put(event)

    async def get(self):
        return await asyncio.wait_for(self.events.get(), timeout=2)


class GroupCalls:
    """Records the channel layer's group_add and group_discard calls for one group."""

    def __init__(self, layer, group, monkeypatch):
        self.added, self.discarded = [], []
        for name, calls in (("group_add", self.added), ("group_discard", self.discarded)):
            monkeypatch.setattr(layer, name, self.recording(getattr(layer, name), group, calls))

    @staticmethod
    def recording(method, group, calls):
        async def recorded(called_group, channel):
            await method(called_group, channel)
            if called_group == group:
                calls.append(channel)

        return recorded


def rooms_open():
    return REGISTRY.get_sample_value("chat_rooms_open")


async def test_a_room_is_one_group_member_per_process_whatever_its_size(join, room, monkeypatch):
    # So a message to the room is one message in the channel layer, not one per socket.
    calls = GroupCalls(get_channel_layer(), group_name(room), monkeypatch)
    before = rooms_open()
    sockets = [await join(room) for _ in range(3)]
    assert len(calls.added) == 1

    await sockets[0].send_json_to({"message": "hello all"})

    for socket in sockets:
        assert (await socket.receive_json_from())["message"] == "hello all"
    for socket in sockets:
        await socket.disconnect()
    assert calls.discarded == calls.added
    assert rooms_open() == before


async def test_anything_sent_to_the_rooms_group_reaches_its_sockets(join, room):
    # A view, a task or a management command can post to a room as the consumers do.
    alice = await join(room)
    bob = await join(room)

    await post(room, "from a task")

    assert (await alice.receive_json_from())["message"] == "from a task"
    assert (await bob.receive_json_from())["message"] == "from a task"


async def test_a_burst_bigger_than_channels_default_capacity_reaches_every_socket(join, room):
    # A process's subscriptions share one inbox in the layer, which drops what arrives
    # while it is full. Channels' default capacity, 100, lost messages of busy rooms.
    alice = await join(room)
    bob = await join(room)
    burst = [f"burst {number}" for number in range(300)]

    # All at once, as from many senders: they arrive faster than the room hands them out.
    await asyncio.gather(*(post(room, text) for text in burst))

    for socket in (alice, bob):
        received = [(await socket.receive_json_from())["message"] for _ in burst]
        assert sorted(received) == sorted(burst)


async def test_membership_is_renewed_before_the_layer_expires_it(join, room):
    # Without renewal the layer drops a group member this old, and a room whose sockets
    # stay connected longer than that goes silent.
    layer = get_channel_layer()
    layer.group_expiry = 2
    alice = await join(room)

    await asyncio.sleep(3)
    await alice.send_json_to({"message": "still here"})

    assert (await alice.receive_json_from())["message"] == "still here"


async def test_sockets_that_join_together_share_one_subscription(room):
    layer = get_channel_layer()
    group = group_name(room)
    inboxes = [Inbox() for _ in range(5)]
    before = rooms_open()

    rooms = await asyncio.gather(
        *(local_rooms.join(layer, group, f"socket-{n}", inbox) for n, inbox in enumerate(inboxes))
    )
    await layer.group_send(group, {"type": events.MESSAGE_EVENT, "frame": "{}"})

    for inbox in inboxes:
        assert (await inbox.get())["type"] == "chat.message"
    assert all(room is rooms[0] for room in rooms)
    assert rooms_open() == before + 1
    for n in range(5):
        await rooms[n].leave(f"socket-{n}")
    assert rooms_open() == before


async def test_a_socket_that_fails_costs_the_others_nothing(room, caplog):
    layer = get_channel_layer()
    group = group_name(room)
    before, after = Inbox(), Inbox()

    async def broken(event):
        raise RuntimeError("this socket is broken")

    room = await local_rooms.join(layer, group, "before", before)
    await local_rooms.join(layer, group, "broken", broken)
    await local_rooms.join(layer, group, "after", after)
    for number in range(3):
        await layer.group_send(group, {"type": events.MESSAGE_EVENT, "frame": json.dumps(number)})

    for number in range(3):
        assert (await before.get())["frame"] == json.dumps(number)
        assert (await after.get())["frame"] == json.dumps(number)
    assert "this socket is broken" in caplog.text
    for name in ("before", "broken", "after"):
        await room.leave(name)


async def test_the_last_socket_to_leave_ends_the_subscription(room):
    layer = get_channel_layer()
    group = group_name(room)
    first, second = Inbox(), Inbox()
    room = await local_rooms.join(layer, group, "first", first)
    await room.leave("first")

    room = await local_rooms.join(layer, group, "second", second)
    await layer.group_send(group, {"type": events.MESSAGE_EVENT, "frame": "{}"})

    assert (await second.get())["type"] == "chat.message"
    assert first.events.empty()
    await room.leave("second")


async def test_a_room_cut_off_from_the_layer_tells_its_sockets_and_reopens_afresh(
    room, monkeypatch
):
    layer = get_channel_layer()
    group = group_name(room)
    layer_gone = asyncio.Event()
    receive = layer.receive

    async def receive_until_the_layer_goes(channel):
        await layer_gone.wait()
        raise ConnectionError("Connection refused")

    monkeypatch.setattr(layer, "receive", receive_until_the_layer_goes)
    cut_off = Inbox()
    lost_room = await local_rooms.join(layer, group, "cut-off", cut_off)
    calls = GroupCalls(layer, group, monkeypatch)

    layer_gone.set()

    assert await cut_off.get() == {"type": events.UNAVAILABLE_EVENT}
    monkeypatch.setattr(layer, "receive", receive)
    later = Inbox()
    new_room = await local_rooms.join(layer, group, "later", later)
    assert new_room is not lost_room
    await layer.group_send(group, {"type": events.MESSAGE_EVENT, "frame": "{}"})
    assert (await later.get())["type"] == "chat.message"
    assert cut_off.events.empty()
    # Once the layer answers again, the lost channel leaves the group.
    for _ in range(50):
        if lost_room.channel in calls.discarded:
            break
        await asyncio.sleep(0.1)
    assert lost_room.channel in calls.discarded
    await new_room.leave("later")


class Readings:
    """Stands in for a reading of the room's history: counts the readings begun, each a
    page of its own; fails while ``failing``."""

    def __init__(self):
        self.begun = 0
        self.failing = False

    async def __call__(self):
        self.begun += 1
        number = self.begun
        await asyncio.sleep(0.01)
        if self.failing:
            raise RuntimeError("the database is away")
        return {"page": number}


async def test_sockets_joining_together_share_one_reading_of_history(room, monkeypatch):
    joined = await local_rooms.join(get_channel_layer(), group_name(room), "one", Inbox())
    read = Readings()

    pages = await asyncio.gather(*(joined.shared_history(read) for _ in range(5)))
    assert pages == [{"page": 1}] * 5
    assert read.begun == 1

    # A message delivered since: the reading may lack it, and the next joins read again.
    await joined.deliver({"type": events.MESSAGE_EVENT, "frame": "{}"})
    assert await joined.shared_history(read) == {"page": 2}
    assert await joined.shared_history(read) == {"page": 2}

    # Nor is a reading shared for longer than SHARED_HISTORY_SECONDS.
    monkeypatch.setattr(local_rooms, "SHARED_HISTORY_SECONDS", 0)
    assert await joined.shared_history(read) == {"page": 3}
    await joined.leave("one")


async def test_a_failed_reading_of_history_is_not_given_to_later_sockets(room):
    joined = await local_rooms.join(get_channel_layer(), group_name(room), "one", Inbox())
    read = Readings()
    read.failing = True
    with pytest.raises(RuntimeError):
        await joined.shared_history(read)

    read.failing = False
    assert await joined.shared_history(read) == {"page": 2}
    await joined.leave("one")


async def test_a_socket_that_joins_after_a_message_gets_it_in_its_history(join, connect, room):
    # The message reached the room after the first socket's history was read: the next
    # socket's history must not be that reading.
    alice = await join(room)
    await alice.send_json_to({"message": "after alice's history"})
    assert (await alice.receive_json_from())["message"] == "after alice's history"

    bob = await connect(room)
    page = await bob.receive_json_from()
    if history.KEEPS_HISTORY:
        assert [message["message"] for message in page["messages"]] == ["after alice's history"]
    else:
        assert page["messages"] == []


async def test_sockets_joining_a_big_room_together_share_the_names_they_are_listed(
    room, monkeypatch
):
    monkeypatch.setattr(presence, "ANNOUNCE_LIMIT", 2)
    joined = await local_rooms.join(get_channel_layer(), group_name(room), "one", Inbox())
    joined.online = Counter({"bob": 1, "Dave": 1, "erin": 1})
    assert joined.is_big()

    frame = joined.presence_for_joiner(joined.online, "bob", joined="bob")
    assert frame == {
        "type": "presence",
        "users": ["bob", "Dave", "erin"],
        "count": 3,
        "joined": "bob",
    }
    # Another joins at once: the names are not gone through again, but it is among them,
    # in its place; the count is exact.
    joined.online.update(["Carol", "alice"])
    frame = joined.presence_for_joiner(joined.online, "Carol", joined="Carol")
    assert (frame["users"], frame["count"]) == (["bob", "Carol", "Dave", "erin"], 5)

    monkeypatch.setattr(local_rooms, "SHARED_LIST_SECONDS", 0)
    frame = joined.presence_for_joiner(joined.online, "Carol")
    assert frame["users"] == ["alice", "bob", "Carol", "Dave", "erin"]
    assert "joined" not in frame  # another tab of someone online: no news
    await joined.leave("one")
