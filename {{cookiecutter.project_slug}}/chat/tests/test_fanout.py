"""One subscription per room and server process, shared by the process's sockets there."""

import asyncio
import json
import uuid

import pytest
from channels.layers import get_channel_layer
from django.utils import timezone
{%- if cookiecutter.channel_layer == "redis" %}
from redis.exceptions import ConnectionError as RedisConnectionError
{%- endif %}

from chat import fanout, protocol
from chat.rooms import group_name

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def room():
    return f"fanout-{uuid.uuid4().hex}"


class Inbox:
    """Stands in for a socket: records the events the room hands it."""

    def __init__(self):
        self.events = asyncio.Queue()

    async def __call__(self, event):
        await self.events.put(event)

    async def get(self):
        return await asyncio.wait_for(self.events.get(), timeout=2)


async def group_members(group):
    layer = get_channel_layer()
{%- if cookiecutter.channel_layer == "redis" %}
    connection = layer.connection(layer.consistent_hash(group))
    return await connection.zcard(layer._group_key(group))
{%- else %}
    return len(layer.groups.get(group, {}))
{%- endif %}


async def post(room, text):
    """Send a message to the room's group, as a view or a task would."""
    frame = protocol.encode(protocol.chat_message(text=text, user="system", ts=timezone.now()))
    await get_channel_layer().group_send(group_name(room), {"type": "chat.message", "frame": frame})


async def test_a_room_is_one_group_member_per_process_whatever_its_size(join, room):
    # So a message to the room is one message in the channel layer, not one per socket.
    sockets = [await join(room) for _ in range(3)]
    assert await group_members(group_name(room)) == 1

    await sockets[0].send_json_to({"message": "hello all"})

    for socket in sockets:
        assert (await socket.receive_json_from())["message"] == "hello all"
    for socket in sockets:
        await socket.disconnect()
    assert await group_members(group_name(room)) == 0


async def test_anything_sent_to_the_rooms_group_reaches_its_sockets(join, room):
    # A view, a task or a management command can post to a room as the consumers do.
    alice = await join(room)
    bob = await join(room)

    await post(room, "from a task")

    assert (await alice.receive_json_from())["message"] == "from a task"
    assert (await bob.receive_json_from())["message"] == "from a task"
    await alice.disconnect()
    await bob.disconnect()


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
    await alice.disconnect()
    await bob.disconnect()


async def test_membership_is_renewed_before_the_layer_expires_it(join, room):
    # Without renewal the layer drops a group member this old, and a room whose sockets
    # stay connected longer than that goes silent.
    layer = get_channel_layer()
    layer.group_expiry = 2
    alice = await join(room)

    await asyncio.sleep(3)
    await alice.send_json_to({"message": "still here"})

    assert (await alice.receive_json_from())["message"] == "still here"
    await alice.disconnect()


async def test_sockets_that_join_together_share_one_subscription(room):
    layer = get_channel_layer()
    group = group_name(room)
    inboxes = [Inbox() for _ in range(5)]

    await asyncio.gather(
        *(fanout.join(layer, group, f"socket-{n}", inbox) for n, inbox in enumerate(inboxes))
    )
    await layer.group_send(group, {"type": "chat.message", "frame": "{}"})

    for inbox in inboxes:
        assert (await inbox.get())["type"] == "chat.message"
    assert len(fanout._rooms()) == 1
    for n in range(5):
        await fanout.leave(group, f"socket-{n}")
    assert fanout._rooms() == {}


async def test_a_socket_that_fails_costs_the_others_nothing(room, caplog):
    layer = get_channel_layer()
    group = group_name(room)
    before, after = Inbox(), Inbox()

    async def broken(event):
        raise RuntimeError("this socket is broken")

    await fanout.join(layer, group, "before", before)
    await fanout.join(layer, group, "broken", broken)
    await fanout.join(layer, group, "after", after)
    for number in range(3):
        await layer.group_send(group, {"type": "chat.message", "frame": json.dumps(number)})

    for number in range(3):
        assert (await before.get())["frame"] == json.dumps(number)
        assert (await after.get())["frame"] == json.dumps(number)
    assert "this socket is broken" in caplog.text
    for name in ("before", "broken", "after"):
        await fanout.leave(group, name)


async def test_the_last_socket_to_leave_ends_the_subscription(room):
    layer = get_channel_layer()
    group = group_name(room)
    first, second = Inbox(), Inbox()
    await fanout.join(layer, group, "first", first)
    await fanout.leave(group, "first")

    await fanout.join(layer, group, "second", second)
    await layer.group_send(group, {"type": "chat.message", "frame": "{}"})

    assert (await second.get())["type"] == "chat.message"
    assert first.events.empty()
    await fanout.leave(group, "second")
{%- if cookiecutter.channel_layer == "redis" %}


async def test_a_room_cut_off_from_redis_tells_its_sockets_and_reopens_afresh(room, monkeypatch):
    layer = get_channel_layer()
    group = group_name(room)
    redis_gone = asyncio.Event()

    async def receive_until_redis_goes(channel):
        await redis_gone.wait()
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(layer, "receive", receive_until_redis_goes)
    cut_off = Inbox()
    await fanout.join(layer, group, "cut-off", cut_off)

    redis_gone.set()

    assert await cut_off.get() == fanout.UNAVAILABLE
    monkeypatch.undo()
    later = Inbox()
    await fanout.join(layer, group, "later", later)
    await layer.group_send(group, {"type": "chat.message", "frame": "{}"})
    assert (await later.get())["type"] == "chat.message"
    assert cut_off.events.empty()
    # Once Redis answers again, the lost channel leaves the group.
    for _ in range(50):
        if await group_members(group) == 1:
            break
        await asyncio.sleep(0.1)
    assert await group_members(group) == 1
    await fanout.leave(group, "cut-off")
    await fanout.leave(group, "later")
{%- endif %}
