"""High availability settings: with REDIS_SENTINELS, the channel layer and presence find
Redis through a real Redis Sentinel, and REDIS_URL is not used."""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from websockets.asyncio.client import connect

from chat.tests.servers import HOST, ORIGIN, RedisProcess, free_port, receive, room_url
from config.settings import env_addresses

MASTER_NAME = "chatmaster"


@pytest.fixture
def sentinel(tmp_path):
    """A Redis of the test's own and a Sentinel watching it; yields the Sentinel."""
    master = RedisProcess(tmp_path)
    master.start()
    # Sentinel rewrites its configuration file, so it gets one of its own.
    config = tmp_path / "sentinel.conf"
    config.write_text(f"sentinel monitor {MASTER_NAME} {HOST} {master.port} 1\n")
    watcher = RedisProcess(tmp_path, str(config), "--sentinel")
    watcher.start()
    yield watcher
    watcher.stop()
    master.stop()


async def test_servers_find_redis_through_sentinel(start_server, sentinel):
    env = {
        "REDIS_SENTINELS": f"{HOST}:{sentinel.port}",
        "REDIS_SENTINEL_MASTER": MASTER_NAME,
        # Nothing listens here: only the Sentinel can lead the servers to Redis.
        "REDIS_URL": f"redis://{HOST}:{free_port()}/0",
    }
    one, two = start_server(**env), start_server(**env)

    async with connect(room_url(one, "sentinel"), origin=ORIGIN) as alice:
        assert (await receive(alice, "presence"))["count"] == 1
        async with connect(room_url(two, "sentinel"), origin=ORIGIN) as bob:
            assert (await receive(alice, "presence"))["count"] == 2
            await alice.send(json.dumps({"message": "found through Sentinel"}))
            assert (await receive(bob, "chat.message"))["message"] == "found through Sentinel"


def test_sentinel_addresses_are_host_port_pairs(monkeypatch):
    monkeypatch.setenv("REDIS_SENTINELS", "10.0.0.5:26379, sentinel.example:26380")
    assert env_addresses("REDIS_SENTINELS") == [("10.0.0.5", 26379), ("sentinel.example", 26380)]


@pytest.mark.parametrize("value", ["sentinel.example", "sentinel.example:", ":26379", "a:b"])
def test_a_sentinel_address_without_host_and_port_is_refused_clearly(monkeypatch, value):
    monkeypatch.setenv("REDIS_SENTINELS", value)
    with pytest.raises(ImproperlyConfigured, match="must list host:port pairs"):
        env_addresses("REDIS_SENTINELS")
