"""One client cannot hold an unbounded number of sockets (chat.limits.socket_caps)."""

import pytest
from django.test import override_settings

from chat import protocol

pytestmark = pytest.mark.django_db(transaction=True)


async def close_code(socket):
    return (await socket.receive_output())["code"]


@override_settings(CHAT_MAX_SOCKETS_PER_SENDER=2)
async def test_a_sender_over_its_cap_is_refused_until_it_closes_one(join, connect, session_cookie):
    cookie = await session_cookie("alice")
    first = await join("lobby", cookie=cookie)
    await join("other room", cookie=cookie)

    refused = await connect("lobby", cookie=cookie)
    assert await close_code(refused) == protocol.CLOSE_TOO_MANY_SOCKETS
    # Other senders are not counted against alice's cap.
    await join("lobby", cookie=await session_cookie("bob"))

    await first.disconnect()
    await join("lobby", cookie=cookie)


@override_settings(CHAT_MAX_SOCKETS_PER_ADDRESS=2)
async def test_an_address_over_its_cap_is_refused_whoever_the_senders(
    join, connect, session_cookie
):
    await join("lobby", cookie=await session_cookie("alice"))
    await join("lobby")  # no cookies: a sender by its address alone

    refused = await connect("lobby", cookie=await session_cookie("bob"))

    assert await close_code(refused) == protocol.CLOSE_TOO_MANY_SOCKETS
