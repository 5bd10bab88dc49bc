"""What only a real server sees: WebSocket protocol violations, refused by daphne before
the consumer, with the room going on for everyone else."""

import json

import pytest
from websockets.asyncio.client import connect

from chat.tests.servers import ORIGIN, receive, room_url, wait_closed

# Daphne (since 4.2.2) refuses messages over 1 MiB; a chat message is far smaller.
DAPHNE_MAX_MESSAGE_BYTES = 1024 * 1024


@pytest.mark.parametrize(
    ("payload", "close_codes"),
    [
        # Daphne's WebSocket library fails such connections by dropping them (1006, seen
        # from the client) rather than always completing a close handshake first.
        pytest.param("x" * (DAPHNE_MAX_MESSAGE_BYTES + 1), {1009, 1006}, id="message-too-big"),
        pytest.param(b'{"message": "\xff\xfe"}', {1007, 1006}, id="invalid-utf-8"),
    ],
)
async def test_protocol_violation_closes_only_that_socket(start_server, payload, close_codes):
    url = room_url(start_server(), "lobby")
    async with (
        connect(url, origin=ORIGIN, max_size=None) as attacker,
        connect(url, origin=ORIGIN) as alice,
        connect(url, origin=ORIGIN) as bob,
    ):
        await attacker.send(payload, text=True)

        assert await wait_closed(attacker) in close_codes
        await alice.send(json.dumps({"message": "still here"}))
        assert (await receive(bob, "chat.message"))["message"] == "still here"
