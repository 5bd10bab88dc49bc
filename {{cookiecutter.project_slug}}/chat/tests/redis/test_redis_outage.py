"""Redis goes away and comes back: the pages keep answering, sockets are closed with
4503 (try again later) instead of hanging, and the chat works again once Redis is back.

The test runs its own Redis on a spare port, so that it can stop and restart it.
"""

import urllib.request

import pytest
from websockets.asyncio.client import connect

from chat import protocol
from testing.processes import HOST, ORIGIN
from testing.servers import (
    RedisProcess,
    receive,
    room_url,
    round_trip,
    round_trip_once_back,
    wait_closed,
)


@pytest.fixture
def own_redis(tmp_path):
    redis = RedisProcess(tmp_path)
    redis.start()
    yield redis
    if redis.process.poll() is None:
        redis.stop()


async def test_chat_survives_redis_going_away_and_coming_back(start_server, own_redis):
    server = start_server(REDIS_URL=own_redis.url)
    url = room_url(server, "outage")
    assert await round_trip(url, "before") == "before"

    async with connect(url, origin=ORIGIN) as alice:
        own_redis.stop()
        assert await wait_closed(alice) == protocol.CLOSE_TRY_AGAIN_LATER

    with urllib.request.urlopen(f"http://{HOST}:{server.port}/", timeout=10) as response:
        assert response.status == 200
    async with connect(url, origin=ORIGIN) as latecomer:
        assert (await receive(latecomer, "error"))["code"] == protocol.UNAVAILABLE
        assert await wait_closed(latecomer) == protocol.CLOSE_TRY_AGAIN_LATER

    own_redis.start()
    assert await round_trip_once_back(url, "after", timeout=10) == "after"
