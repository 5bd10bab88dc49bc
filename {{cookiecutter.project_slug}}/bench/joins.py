"""The join storm: many clients joining one room at the same moment, as they all do after
a server restart, a network blip or a Redis outage.

For each number of clients (--clients), one server process of each kind is started and
the clients connect to it all at once: this chat (as production runs it, in a room that
has --history saved messages when the project saves them), the Channels tutorial's
consumer (bench/tutorial.py, on daphne), and the bare `websockets` server
(bench/ceiling.py). A client has joined when it can chat: for the chat, once its first
history page arrived (presence and the others' announcements follow); for the others,
once the handshake is done.

It reports, for each, the server's CPU time per join (until it is idle again, so the
presence it announced is counted), the time until every client was in, p50 and p99 join
latency, and the clients refused; and the chat's CPU per join as a ratio to the
tutorial's and to the ceiling's. The absolute figures depend on the machine and on the
clients, which run here too; the ratios much less. Exits 1 if a chat client was refused
or a chat server logged an error.

    python bench/joins.py --clients 100 1000
"""

import argparse
import asyncio
import contextlib
import json
import secrets
import statistics
import sys
import tempfile
import time

from benchmark import IDLE_CPU, QUIET_SECONDS, SERVER_ENV, Usage, cell
from processes import HOST, ORIGIN, Servers, raise_open_file_limit
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

# A client still waiting for its turn after this long counts as refused.
JOIN_TIMEOUT = 120


class Storm:
    """The clients of one storm: each connects, waits until it is in the room, then reads
    whatever comes (presence) until it is closed."""

    def __init__(self, url, until_in):
        self.url = url
        self.until_in = until_in
        self.latencies = []
        self.refused = 0
        self.sockets = []
        self.listeners = []

    async def join(self):
        started = time.perf_counter()
        try:
            websocket = await connect(self.url, origin=ORIGIN, open_timeout=JOIN_TIMEOUT)
            await asyncio.wait_for(self.until_in(websocket), JOIN_TIMEOUT)
        except (InvalidHandshake, ConnectionClosed, OSError, TimeoutError):
            self.refused += 1
            return
        self.latencies.append(time.perf_counter() - started)
        self.sockets.append(websocket)
        self.listeners.append(asyncio.create_task(read_all(websocket)))

    async def close(self):
        await asyncio.gather(*(websocket.close() for websocket in self.sockets))
        await asyncio.gather(*self.listeners)


async def read_all(websocket):
    with contextlib.suppress(ConnectionClosed):
        async for _ in websocket:
            pass


async def first_history_page(websocket):
    while json.loads(await websocket.recv())["type"] != "chat.history":
        pass


async def handshake_done(websocket):
    pass


async def until_idle(usage, timeout=60):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        before = usage.cpu_seconds()
        await asyncio.sleep(QUIET_SECONDS)
        if (usage.cpu_seconds() - before) / QUIET_SECONDS < IDLE_CPU:
            return


async def fill_history(url, messages):
    """Send ``messages`` messages to the room, each once the one before is confirmed."""
    async with connect(url, origin=ORIGIN) as websocket:
        await first_history_page(websocket)
        for number in range(messages):
            text = f"message {number} before the storm"
            await websocket.send(json.dumps({"message": text}))
            while json.loads(await websocket.recv()).get("message") != text:
                pass


async def storm(target, process, url, clients, until_in, history):
    usage = Usage([process.pid], [])
    if history:
        await fill_history(url, history)
    await until_idle(usage)
    joining = Storm(url, until_in)
    cpu_before = usage.cpu_seconds()
    started = time.perf_counter()
    await asyncio.gather(*(joining.join() for _ in range(clients)))
    all_in = time.perf_counter() - started
    await until_idle(usage)
    cpu = usage.cpu_seconds() - cpu_before
    await joining.close()
    latencies = sorted(joining.latencies)
    joined = len(latencies)
    return {
        "target": target,
        "clients": clients,
        "joined": joined,
        "refused": joining.refused,
        "cpu_ms_per_join": 1000 * cpu / joined if joined else None,
        "all_in_s": all_in,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "p99_ms": 1000 * latencies[int(0.99 * (joined - 1))] if latencies else None,
    }


def run(target, clients, history, log_dir):
    room = f"joins{secrets.token_hex(4)}"  # no hyphen, which the tutorial's URLs refuse
    with Servers(log_dir, env=SERVER_ENV) as started:
        if target == "ceiling":
            command = [sys.executable, "bench/ceiling.py", "--host", HOST, "--port", "0"]
            process = started.start(command, f"ceiling-{clients}")
        elif target == "tutorial":
            process = started.start_daphne(
                f"tutorial-{clients}", "bench.tutorial:application", module="daphne"
            )
        else:
            process = started.start_daphne(f"chat-{clients}")
        url = f"ws://{HOST}:{process.port}/ws/chat/{room}/"
        until_in = first_history_page if target == "chat" else handshake_done
        result = asyncio.run(
            storm(target, process, url, clients, until_in, history if target == "chat" else 0)
        )
    return result, started.log_errors() if target == "chat" else []


def report(results):
    print(
        f"{'target':<10}{'clients':>8}{'joined':>8}{'refused':>8}{'cpu ms/join':>12}"
        f"{'all in s':>9}{'p50 ms':>8}{'p99 ms':>8}   cpu/join ratio to tutorial, ceiling"
    )
    by_target = {(r["target"], r["clients"]): r for r in results}
    for r in results:
        line = (
            f"{r['target']:<10}{r['clients']:>8}{r['joined']:>8}{r['refused']:>8}"
            f"{cell(r['cpu_ms_per_join'], 12, 2)}{r['all_in_s']:>9.2f}"
            f"{cell(r['p50_ms'], 8, 0)}{cell(r['p99_ms'], 8, 0)}"
        )
        if r["target"] == "chat":
            ratios = []
            for yardstick in ("tutorial", "ceiling"):
                other = by_target.get((yardstick, r["clients"]))
                if other and other["cpu_ms_per_join"] and r["cpu_ms_per_join"]:
                    ratios.append(f"{r['cpu_ms_per_join'] / other['cpu_ms_per_join']:.2f}x")
                else:
                    ratios.append("-")
            line += "   " + "  ".join(ratios)
        print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clients",
        type=int,
        nargs="+",
        default=[100, 1000],
        metavar="N",
        help="clients joining at once, a storm for each (default: 100 1000)",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=50,
        metavar="N",
        help="messages in the chat's room before the storm (default: %(default)s)",
    )
    args = parser.parse_args()
    if min(args.clients) < 1 or max(args.clients) > 5000:
        parser.error("--clients: from 1 to 5000")
    if not 0 <= args.history <= 1000:
        parser.error("--history: from 0 to 1000")
    raise_open_file_limit(max(args.clients))

    results, log_errors = [], []
    with tempfile.TemporaryDirectory() as log_dir:
        for clients in args.clients:
            for target in ("chat", "tutorial", "ceiling"):
                result, errors = run(target, clients, args.history, log_dir)
                results.append(result)
                log_errors += errors
    report(results)
    for line in log_errors[:20]:
        print(f"server log: {line}")
    refused = sum(r["refused"] for r in results if r["target"] == "chat")
    return 1 if refused or log_errors else 0


if __name__ == "__main__":
    sys.exit(main())
