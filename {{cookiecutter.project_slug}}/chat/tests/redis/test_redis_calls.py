"""The stores kept in Redis beside the channel layer share one small pool of connections
(chat.stores.redis_calls), however many calls a crowd of sockets makes at once."""

import asyncio

import pytest
from channels.layers import get_channel_layer

from chat.limits import flood
from chat.stores import redis_calls

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_crowd_of_calls_opens_no_more_connections_than_run_at_once(monkeypatch):
    layer = get_channel_layer()
    flood_limit = flood.flood_limit_for(layer)
    pool = redis_calls.shared(layer).clients[0].connection_pool
    opened = []
    make_connection = pool.make_connection

    def counted():
        opened.append(1)
        return make_connection()

    monkeypatch.setattr(pool, "make_connection", counted)

    waits = await asyncio.gather(
        *(flood_limit.take(f"sender-{number}", rate=1, burst=1) for number in range(200))
    )
    assert waits == [0] * 200
    assert 0 < len(opened) <= redis_calls.CALLS_AT_ONCE
