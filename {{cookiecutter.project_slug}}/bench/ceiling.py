"""The ceiling the benchmark compares the chat with: a bare `websockets` broadcast server.

No Django, no channel layer, no database: every text frame a client sends is parsed,
turned into the chat's broadcast frame once, and sent to every connected client, which
is the least any chat server must do. All clients share one room, whatever the URL.

Frames go out uncompressed, as daphne sends the chat's: websockets offers
permessage-deflate by default, and compressing every frame for every client would cost
the ceiling CPU that the chat does not spend, and flatter the chat's ratios.

    python bench/ceiling.py --port 8765
"""

import argparse
import asyncio
import json
from datetime import UTC, datetime

from websockets.asyncio.server import broadcast, serve

clients = set()


async def chat(websocket):
    clients.add(websocket)
    try:
        async for text in websocket:
            message = json.loads(text)["message"]
            frame = {
                "type": "chat.message",
                "message": message,
                "user": "guest",
                "ts": datetime.now(UTC).isoformat(),
            }
            broadcast(clients, json.dumps(frame))
    finally:
        clients.discard(websocket)


async def main(host, port):
    async with serve(chat, host, port, max_size=2**20, compression=None) as server:
        # As daphne says it, with the port the system picked for --port 0.
        bound = server.sockets[0].getsockname()
        print(f"Listening on TCP address {bound[0]}:{bound[1]}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port))
