"""Sharding: REDIS_URL lists two real Redis servers, and two server processes share
them. Rooms are spread over both by channels-redis's consistent hash; each room's
messages and presence reach every socket, whichever process it is on, and a room's
presence is kept on the Redis server of its group."""

import json
import os

import pytest
import redis
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from websockets.asyncio.client import connect

from chat.room_names import group_name
from chat.stores.redis import RedisSocketCounts
from testing.processes import HOST, ORIGIN, unused_port
from testing.servers import RedisProcess, receive, room_url

pytestmark = pytest.mark.django_db(transaction=True)

MASTER_NAMES = ["chatshard1", "chatshard2"]


@pytest.fixture
def second_redis(tmp_path):
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


def a_room_on_each(layer):
    """{server index: room name}: a room whose group each Redis server of ``layer`` keeps."""
    rooms, number = {}, 0
    while len(rooms) < layer.ring_size:
        room = f"shard-{number}"
        rooms.setdefault(layer.consistent_hash(group_name(room)), room)
        number += 1
    return rooms


async def presence_of_both(websocket):
    while len((frame := await receive(websocket, "presence"))["users"]) < 2:
        pass
    return frame["users"]


async def test_rooms_messages_and_presence_spread_over_two_redis_servers(
    start_server, second_redis
):
    urls = [settings.REDIS_URLS[0], second_redis.url]
    processes = [start_server(REDIS_URL=",".join(urls)) for _ in range(2)]
    await rooms_spread_over(processes, urls, RedisChannelLayer(hosts=urls))


async def test_rooms_spread_over_two_masters_found_through_sentinel(start_server, tmp_path):
    # Sentinel and sharding together: one Sentinel watches two masters, and
    # REDIS_SENTINEL_MASTER names both.
    masters = [RedisProcess(tmp_path) for _ in MASTER_NAMES]
    sentinel = None
    try:
        for master in masters:
            master.start()
        config = tmp_path / "sentinel.conf"
        config.write_text(
            "".join(
                f"sentinel monitor {name} {HOST} {master.port} 1\n"
                for name, master in zip(MASTER_NAMES, masters, strict=True)
            )
        )
        sentinel = RedisProcess(tmp_path, str(config), "--sentinel")
        sentinel.start()
        sentinels = [(HOST, sentinel.port)]
        env = {
            "REDIS_SENTINELS": f"{HOST}:{sentinel.port}",
            "REDIS_SENTINEL_MASTER": ",".join(MASTER_NAMES),
            # Nothing listens here: only the Sentinel can lead the servers to Redis.
            "REDIS_URL": f"redis://{HOST}:{unused_port()}/0",
        }
        processes = [start_server(**env) for _ in range(2)]
        layer = RedisChannelLayer(
            hosts=[{"sentinels": sentinels, "master_name": name} for name in MASTER_NAMES]
        )
        await rooms_spread_over(processes, [master.url for master in masters], layer)
    finally:
        for process in [sentinel, *masters]:
            if process is not None and process.process is not None:
                process.stop()


async def rooms_spread_over(processes, urls, layer):
    """For a room on each Redis server of ``layer`` (whose addresses are ``urls``): a guest
    on each server process sees the other online, the room's presence is kept on its
    server alone, and each guest's message reaches both."""
    prefix = os.environ["CHANNEL_LAYER_PREFIX"]
    for index, room in a_room_on_each(layer).items():
        async with (
            connect(room_url(processes[0], room), origin=ORIGIN) as first,
            connect(room_url(processes[1], room), origin=ORIGIN) as second,
        ):
            assert await presence_of_both(first) == await presence_of_both(second)
            key = f"{prefix}:presence:{group_name(room)}"
            for server, url in enumerate(urls):
                with redis.Redis.from_url(url) as client:
                    assert client.zcard(key) == (2 if server == index else 0)

            for sender, text in ((first, f"hello {room}"), (second, f"and back in {room}")):
                await sender.send(json.dumps({"message": text}))
                for websocket in (first, second):
                    assert (await receive(websocket, "chat.message"))["message"] == text


def owners_on_each(layer, prefix):
    """{server index: owner}: an owner of sockets whose count each Redis server keeps."""
    owners, number = {}, 0
    while len(owners) < layer.ring_size:
        owner = f"owner-{number}"
        owners.setdefault(layer.consistent_hash(f"{prefix}:sockets:{owner}"), owner)
        number += 1
    return owners


async def test_a_socket_counted_on_two_servers_is_counted_on_both_or_neither(second_redis):
    # A socket counts against its sender and its address, whose counts may live on two
    # servers: refused by one, it must not stay counted on the other.
    urls = [settings.REDIS_URLS[0], second_redis.url]
    prefix = os.environ["CHANNEL_LAYER_PREFIX"]
    layer = RedisChannelLayer(hosts=urls, prefix=prefix)
    counts = RedisSocketCounts(layer)
    owners = owners_on_each(layer, prefix)
    first, second = owners[0], owners[1]  # counted on the first server, and the second

    assert await counts.add({first: 2, second: 1}, "socket-1")
    assert not await counts.add({first: 2, second: 1}, "socket-2")
    with redis.Redis.from_url(urls[0]) as one, redis.Redis.from_url(urls[1]) as two:
        assert one.zrange(f"{prefix}:sockets:{first}", 0, -1) == [b"socket-1"]
        assert two.zrange(f"{prefix}:sockets:{second}", 0, -1) == [b"socket-1"]

    await counts.remove({first: 2, second: 1}, "socket-1")
    assert await counts.add({first: 2, second: 1}, "socket-2")
    await counts.remove({first: 2, second: 1}, "socket-2")
