"""Run by the template's suite with a baked in-memory project's own Python, in the project's
directory, after `pip install -e '.[redis]'` and with REDIS_URL set: two real server
processes on one Redis; a message sent through one reaches a socket on the other, and
each sees the other's user online. Exits 0 when all of that holds.
"""

import asyncio
import json
import os
import sys
from pathlib import Path

from websockets.asyncio.client import connect

# Python put this script's directory on the path, not the project's, where it runs.
sys.path.insert(0, str(Path.cwd()))
from testing.processes import HOST, ORIGIN, start_daphne, stop_process
from testing.servers import receive, room_url

ROOM = "switched to redis"


async def check(first, second):
    async with (
        connect(room_url(first, ROOM), origin=ORIGIN) as alice,
        connect(room_url(second, ROOM), origin=ORIGIN) as bob,
    ):
        # Presence crosses processes: alice's list comes to name both guests.
        while (await receive(alice, "presence"))["count"] < 2:
            pass
        await bob.send(json.dumps({"message": "across processes", "client_id": "x-1"}))
        frame = await receive(alice, "chat.message")
        assert frame["message"] == "across processes", frame
        assert frame["client_id"] == "x-1", frame


def main():
    assert os.environ["REDIS_URL"], "run with REDIS_URL set"
    env = {**os.environ, "DJANGO_ALLOWED_HOSTS": HOST}
    servers = [start_daphne(env), start_daphne(env)]
    try:
        asyncio.run(asyncio.wait_for(check(*servers), timeout=60))
    finally:
        for server in servers:
            stop_process(server)
    print("in-memory project switched to Redis: two processes share a room")


if __name__ == "__main__":
    main()
