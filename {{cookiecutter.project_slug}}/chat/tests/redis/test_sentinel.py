"""High availability settings: with REDIS_SENTINELS, the channel layer and presence find
Redis through a real Redis Sentinel, REDIS_URL is not used, and a failover is followed."""

import asyncio
import json
from dataclasses import dataclass

import pytest
import redis
from websockets.asyncio.client import connect

from chat import protocol
from testing.processes import HOST, ORIGIN, unused_port, wait_until
from testing.servers import (
    HttpSession,
    RedisProcess,
    receive,
    room_url,
    round_trip,
    round_trip_once_back,
    wait_closed,
)

MASTER_NAME = "chatmaster"


@dataclass
class WatchedRedis:
    master: RedisProcess
    replica: RedisProcess
    sentinel: RedisProcess


@pytest.fixture
def watched_redis(tmp_path):
    """A Redis master of the test's own, a replica of it, and a Sentinel watching them
    that fails over to the replica a second after the master stops answering."""
    started = []

    def start(*arguments):
        process = RedisProcess(tmp_path, *arguments)
        process.start()
        started.append(process)
        return process

    try:
        master = start()
        replica = start("--replicaof", HOST, str(master.port))
        with redis.Redis(host=HOST, port=master.port) as client:
            wait_until(
                lambda: client.info("replication")["connected_slaves"],
                "the replica to connect to its master",
                timeout=15,
            )
        # Sentinel rewrites its configuration file, so it gets one of its own.
        config = tmp_path / "sentinel.conf"
        config.write_text(
            f"sentinel monitor {MASTER_NAME} {HOST} {master.port} 1\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
            f"sentinel failover-timeout {MASTER_NAME} 10000\n"
        )
        sentinel = start(str(config), "--sentinel")
        with redis.Redis(host=HOST, port=sentinel.port) as client:
            wait_until(
                lambda: client.sentinel_slaves(MASTER_NAME),
                "the Sentinel to find the replica",
                timeout=15,
            )
        yield WatchedRedis(master, replica, sentinel)
    finally:
        for process in reversed(started):
            process.stop()


def sentinel_env(watched_redis):
    return {
        "REDIS_SENTINELS": f"{HOST}:{watched_redis.sentinel.port}",
        "REDIS_SENTINEL_MASTER": MASTER_NAME,
        # Nothing listens here: only the Sentinel can lead the servers to Redis.
        "REDIS_URL": f"redis://{HOST}:{unused_port()}/0",
    }


async def test_servers_find_redis_through_sentinel(start_server, watched_redis):
    env = sentinel_env(watched_redis)
    one, two = start_server(**env), start_server(**env)

    # The cache too: a sign-up is counted in the master the Sentinel names.
    password = "correct horse battery staple"  # noqa: S105
    signup = {"username": "alice", "password1": password, "password2": password}
    assert await asyncio.to_thread(HttpSession().post, one, "/accounts/signup/", signup) == 200
    with redis.Redis(host=HOST, port=watched_redis.master.port) as client:
        assert client.keys("*:rl:*")

    async with connect(room_url(one, "sentinel"), origin=ORIGIN) as alice:
        assert (await receive(alice, "presence"))["count"] == 1
        async with connect(room_url(two, "sentinel"), origin=ORIGIN) as bob:
            assert (await receive(alice, "presence"))["count"] == 2
            await alice.send(json.dumps({"message": "found through Sentinel"}))
            assert (await receive(bob, "chat.message"))["message"] == "found through Sentinel"


async def test_the_chat_follows_a_failover_without_a_restart(start_server, watched_redis):
    server = start_server(**sentinel_env(watched_redis))
    url = room_url(server, "failover")
    assert await round_trip(url, "before") == "before"

    async with connect(url, origin=ORIGIN) as alice:
        watched_redis.master.stop()
        assert await wait_closed(alice) == protocol.CLOSE_TRY_AGAIN_LATER

    # The Sentinel promotes the replica once the master has been silent for a second;
    # the server asks it where the master is now and works on.
    assert await round_trip_once_back(url, "after", timeout=30) == "after"
    with redis.Redis(host=HOST, port=watched_redis.sentinel.port, decode_responses=True) as client:
        master_now = client.sentinel_get_master_addr_by_name(MASTER_NAME)
    assert master_now == (HOST, watched_redis.replica.port)
