"""Measure the chat beside a bare-websockets ceiling: throughput, latency, server cost.

For each number of clients (--clients) and of server processes (--servers), it starts
this project's daphne processes as production does (config/serve.py), connects the
clients to one room spread over them, and runs two loads: a fixed rate (--rate
deliveries a second in all, so that every room size gets the same work: 5 messages a
second to 100 clients, from up to 10 senders), then flat out (10 senders, each sending
its next message as soon as its last one came back).

The servers use the channel layer the settings configure (config/settings.py). With
Redis, --servers defaults to 1 and 2; with the in-memory layer, which carries messages
between the sockets of one process only, to 1, and more are refused.

Then it runs the same loads, on this machine in the same run, against two yardsticks: the
Channels tutorial's consumer on one process of daphne itself (bench/tutorial.py), and
bench/ceiling.py, a bare `websockets` broadcast server with no Django.

It reports deliveries a second, p50 and p99 latency from send to receipt, server CPU time
per delivered message (the server processes; with Redis, Redis's own apart), peak server
memory and lost messages, each of the chat's figures as a ratio to the ceiling's, and its
CPU per delivery as a ratio to the tutorial's: absolute figures depend on the machine, the
ratios much less. Results go to bench/output/ (results.json and benchmark.png, or where
--results and --chart say). Exits 1 if the chat or the ceiling lost a message, or the
chat's servers logged an error; 2 if the options are refused.

The servers run with DJANGO_DEBUG=false and with the flood limit lifted (it would
otherwise refuse the senders' pace). Run `manage.py migrate` first.

    python bench/benchmark.py --clients 10 100 1000
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
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
from matplotlib.figure import Figure
from processes import (
    HOST,
    LOAD_TEST_LIMITS,
    ORIGIN,
    PROJECT_DIR,
    SERVE_MODULE,
    Servers,
    channel_layer,
    raise_open_file_limit,
    require_shared_layer,
    shared_by_processes,
)
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

# Not docs/benchmark.png, which the README shows: ask for it with --chart.
OUTPUT_DIR = PROJECT_DIR / "bench" / "output"
RESULTS = OUTPUT_DIR / "results.json"
CHART = OUTPUT_DIR / "benchmark.png"
SERVER_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    **LOAD_TEST_LIMITS,
}
SENDERS = 10
# Messages still missing this long after the last one was sent count as lost.
DRAIN_SECONDS = 5
# A server that sent nothing for this long, using less CPU than this (in cores, all server
# processes together), has nothing left to do; if it never gets there, a load starts after
# SETTLE_SECONDS anyway.
QUIET_SECONDS = 1
IDLE_CPU = 0.05
SETTLE_SECONDS = 120


@dataclass
class Result:
    target: str
    servers: int
    clients: int
    load: str
    sent: int
    deliveries: int
    lost: int
    deliveries_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    server_cpu_us_per_delivery: float | None
    redis_cpu_us_per_delivery: float | None
    peak_server_memory_mb: float


class Load:
    """The clients of one target, and what they sent and received."""

    def __init__(self, urls):
        self.urls = urls
        self.sockets = []
        self.sent_at = {}
        self.received = 0
        self.latencies = []
        self.echoes = {}
        self.last_frame_at = time.perf_counter()

    async def open(self):
        opening = asyncio.Semaphore(50)

        async def open_one(url):
            async with opening:
                return await connect(url, origin=ORIGIN, open_timeout=60, max_size=2**22)

        self.sockets = await asyncio.gather(*(open_one(url) for url in self.urls))
        self.listeners = [asyncio.create_task(self.listen(ws)) for ws in self.sockets]

    async def settle(self, usage):
        """Wait until every frame sent so far (history and presence on joining, the last
        load's stragglers) has arrived and the servers are idle, so that a load measures
        only itself. Joining a big room keeps them busy after the last frame."""
        deadline = time.perf_counter() + SETTLE_SECONDS
        while time.perf_counter() < deadline:
            cpu_before = usage.cpu_seconds()
            await asyncio.sleep(QUIET_SECONDS)
            busy = (usage.cpu_seconds() - cpu_before) / QUIET_SECONDS
            if time.perf_counter() - self.last_frame_at > QUIET_SECONDS and busy < IDLE_CPU:
                return

    async def close(self):
        await asyncio.gather(*(ws.close() for ws in self.sockets))
        await asyncio.gather(*self.listeners)

    async def listen(self, websocket):
        # A socket a server closed receives no more: its messages count as lost.
        with contextlib.suppress(ConnectionClosed):
            async for text in websocket:
                self.last_frame_at = time.perf_counter()
                frame = json.loads(text)
                if frame["type"] != "chat.message" or frame["message"] not in self.sent_at:
                    continue
                self.received += 1
                self.latencies.append(time.perf_counter() - self.sent_at[frame["message"]])
                echo = self.echoes.pop((websocket, frame["message"]), None)
                if echo is not None:
                    echo.set()

    async def send(self, websocket, text):
        self.sent_at[text] = time.perf_counter()
        await websocket.send(json.dumps({"message": text}))

    def reset(self):
        self.sent_at.clear()
        self.received = 0
        self.latencies.clear()

    async def fixed_rate(self, rate, seconds, label):
        senders = self.sockets[:SENDERS]
        count = round(rate * seconds)
        started = time.perf_counter()
        for index in range(count):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.send(senders[index % len(senders)], f"{label}-{index}")
        return count

    async def flat_out(self, seconds, label):
        deadline = time.perf_counter() + seconds
        sent = 0

        async def sender(websocket, number):
            nonlocal sent
            index = 0
            while time.perf_counter() < deadline:
                text = f"{label}-{number}-{index}"
                echo = self.echoes[(websocket, text)] = asyncio.Event()
                await self.send(websocket, text)
                sent += 1
                try:
                    await asyncio.wait_for(echo.wait(), DRAIN_SECONDS)
                except TimeoutError:
                    return
                index += 1

        await asyncio.gather(*(sender(ws, n) for n, ws in enumerate(self.sockets[:SENDERS])))
        return sent

    async def drain(self, expected):
        deadline = time.perf_counter() + DRAIN_SECONDS
        while self.received < expected and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)


class Usage:
    """CPU time and peak memory of the server processes (and Redis) during a load."""

    def __init__(self, pids, redis_clients):
        self.processes = [psutil.Process(pid) for pid in pids]
        self.redis_clients = redis_clients
        self.peak_rss = 0

    def cpu_seconds(self):
        spent = [process.cpu_times() for process in self.processes]
        return sum(times.user + times.system for times in spent)

    def redis_cpu_seconds(self):
        if not self.redis_clients:
            return None
        spent = [client.info("cpu") for client in self.redis_clients]
        return sum(info["used_cpu_user"] + info["used_cpu_sys"] for info in spent)

    async def sample_memory(self):
        while True:
            self.peak_rss = max(self.peak_rss, sum(p.memory_info().rss for p in self.processes))
            await asyncio.sleep(0.05)


def per_delivery(seconds, deliveries):
    # None where nothing arrived: a server too far behind to measure.
    if seconds is None or not deliveries:
        return None
    return 1e6 * seconds / deliveries


async def measure(target, servers, urls, pids, args, redis_clients):
    load = Load(urls)
    await load.open()
    results = []
    for name in ("fixed", "flat out"):
        usage = Usage(pids, redis_clients)
        await load.settle(usage)
        load.reset()
        sampler = asyncio.create_task(usage.sample_memory())
        cpu_before = usage.cpu_seconds()
        redis_before = usage.redis_cpu_seconds()
        started = time.perf_counter()
        if name == "fixed":
            messages_per_second = args.rate / len(urls)
            sent = await load.fixed_rate(messages_per_second, args.seconds, f"{target}-{name}")
        else:
            sent = await load.flat_out(args.seconds, f"{target}-{name}")
        await load.drain(sent * len(urls))
        elapsed = time.perf_counter() - started
        cpu = usage.cpu_seconds() - cpu_before
        redis_cpu = usage.redis_cpu_seconds() - redis_before if redis_clients else None
        sampler.cancel()
        deliveries = load.received
        latencies = sorted(load.latencies)

        results.append(
            Result(
                target=target,
                servers=servers,
                clients=len(urls),
                load=name,
                sent=sent,
                deliveries=deliveries,
                lost=sent * len(urls) - deliveries,
                deliveries_per_second=deliveries / elapsed,
                p50_ms=1000 * statistics.median(latencies) if latencies else None,
                p99_ms=1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else None,
                server_cpu_us_per_delivery=per_delivery(cpu, deliveries),
                redis_cpu_us_per_delivery=per_delivery(redis_cpu, deliveries),
                peak_server_memory_mb=usage.peak_rss / 2**20,
            )
        )
    await load.close()
    return results


def room_urls(ports, clients, room):
    return [f"ws://{HOST}:{ports[index % len(ports)]}/ws/chat/{room}/" for index in range(clients)]


def run_daphne(
    target, application, servers, clients, args, log_dir, redis_clients, module=SERVE_MODULE
):
    with Servers(log_dir, env=SERVER_ENV) as started:
        processes = [
            started.start_daphne(f"{target}-{servers}-{clients}-{n}", application, module)
            for n in range(servers)
        ]
        # A room of its own for every run; no hyphen, which the tutorial's URLs refuse.
        urls = room_urls([p.port for p in processes], clients, f"bench{secrets.token_hex(4)}")
        pids = [p.pid for p in processes]
        results = asyncio.run(measure(target, servers, urls, pids, args, redis_clients))
    return results, started.log_errors()


def run_chat(servers, clients, args, log_dir, redis_clients):
    return run_daphne(
        "chat", "config.asgi:application", servers, clients, args, log_dir, redis_clients
    )


def run_tutorial(clients, args, log_dir, redis_clients):
    # A yardstick, not what is checked: what it loses shows in its rows, and what its
    # server logs does not fail the run. It runs on daphne itself, as the tutorial says.
    results, _ = run_daphne(
        "tutorial",
        "bench.tutorial:application",
        1,
        clients,
        args,
        log_dir,
        redis_clients,
        module="daphne",
    )
    return results


def run_ceiling(clients, args, log_dir):
    with Servers(log_dir) as started:
        command = [sys.executable, "bench/ceiling.py", "--host", HOST, "--port", "0"]
        process = started.start(command, f"ceiling-{clients}")
        urls = room_urls([process.port], clients, "bench")
        return asyncio.run(measure("ceiling", 1, urls, [process.pid], args, []))


def ratio(result, yardstick, field):
    # CPU times tick in hundredths of a second: a light load may show none.
    if not getattr(yardstick, field) or getattr(result, field) is None:
        return "    -"
    return f"{getattr(result, field) / getattr(yardstick, field):.2f}x"


def cell(value, width, decimals):
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{decimals}f}"


def report(results):
    ceilings = {(r.clients, r.load): r for r in results if r.target == "ceiling"}
    tutorials = {(r.clients, r.load): r for r in results if r.target == "tutorial"}
    header = (
        f"{'target':<10}{'servers':>8}{'clients':>8}  {'load':<9}{'deliv/s':>9}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'cpu us/d':>9}{'peak MB':>8}{'lost':>6}"
        f"   ratios to ceiling (cpu/delivery, deliv/s, p99), cpu/delivery to tutorial"
    )
    print(header)
    for r in results:
        line = (
            f"{r.target:<10}{r.servers:>8}{r.clients:>8}  {r.load:<9}"
            f"{r.deliveries_per_second:>9.0f}{cell(r.p50_ms, 8, 1)}{cell(r.p99_ms, 8, 1)}"
            f"{cell(r.server_cpu_us_per_delivery, 9, 1)}{r.peak_server_memory_mb:>8.0f}"
            f"{r.lost:>6}"
        )
        ceiling = ceilings.get((r.clients, r.load))
        tutorial = tutorials.get((r.clients, r.load))
        if r.target == "chat" and ceiling:
            line += (
                f"   {ratio(r, ceiling, 'server_cpu_us_per_delivery')}"
                f"  {ratio(r, ceiling, 'deliveries_per_second')}"
                f"  {ratio(r, ceiling, 'p99_ms')}"
            )
        if r.target == "chat" and tutorial:
            line += f"  {ratio(r, tutorial, 'server_cpu_us_per_delivery')}"
        if r.redis_cpu_us_per_delivery is not None:
            line += f"   (+ Redis {r.redis_cpu_us_per_delivery:.1f} us/delivery)"
        print(line)


def chart(results, path):
    # A Figure of its own, not pyplot's: no GUI backend, nothing global.
    figure = Figure(figsize=(11, 4))
    cpu_axes, rate_axes = figure.subplots(1, 2)
    series = sorted({(r.target, r.servers) for r in results})
    for target, servers in series:
        label = target if target != "chat" else f"{target}, {servers} server(s)"
        for axes, field in (
            (cpu_axes, "server_cpu_us_per_delivery"),
            (rate_axes, "deliveries_per_second"),
        ):
            points = [
                (r.clients, getattr(r, field))
                for r in results
                if (r.target, r.servers, r.load) == (target, servers, "flat out")
                and getattr(r, field) is not None
            ]
            if not points:
                continue
            axes.plot(*zip(*points, strict=True), marker="o", label=label)
    cpu_axes.set(
        title="Server CPU per delivery (flat out)", xlabel="clients in the room", ylabel="µs"
    )
    rate_axes.set(title="Deliveries a second (flat out)", xlabel="clients in the room")
    for axes in (cpu_axes, rate_axes):
        axes.set_xscale("log")
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)


def redis_clients_of(layer):
    """Clients of the Redis servers a channels-redis layer uses, whose CPU time is reported
    apart; none for another layer."""
    if "hosts" not in layer.get("CONFIG", {}):
        return []
    # Installed with channels-redis only.
    import redis
    from redis.sentinel import Sentinel

    def client(host):
        # The shapes channels-redis takes in CONFIG["hosts"].
        if isinstance(host, str):
            return redis.Redis.from_url(host)
        if isinstance(host, list | tuple):
            return redis.Redis(*host)
        if "sentinels" in host:
            sentinel = Sentinel(host["sentinels"], sentinel_kwargs=host.get("sentinel_kwargs"))
            return sentinel.master_for(host["master_name"])
        return redis.Redis.from_url(host["address"])

    return [client(host) for host in layer.get("CONFIG", {}).get("hosts", ["redis://localhost"])]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clients",
        type=int,
        nargs="+",
        default=[10, 100, 1000],
        metavar="N",
        help="clients in the room, a run for each (default: 10 100 1000)",
    )
    parser.add_argument(
        "--servers",
        type=int,
        nargs="+",
        metavar="N",
        help="chat server processes, a run for each (default: 1 2, or 1 with the in-memory layer)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=500,
        help="deliveries a second of the fixed load (default: %(default)s)",
    )
    parser.add_argument("--seconds", type=float, default=10, help="per load (default: %(default)s)")
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        metavar="PATH",
        help=f"the figures as JSON (default: {RESULTS.relative_to(PROJECT_DIR)})",
    )
    parser.add_argument(
        "--chart",
        type=Path,
        default=CHART,
        metavar="PATH",
        help=f"the chart as PNG (default: {CHART.relative_to(PROJECT_DIR)})",
    )
    args = parser.parse_args()
    layer = channel_layer()
    server_counts = args.servers or ([1, 2] if shared_by_processes() else [1])
    require_shared_layer(parser, max(server_counts))
    redis_clients = redis_clients_of(layer)
    raise_open_file_limit(max(args.clients))

    results, log_errors = [], []
    with tempfile.TemporaryDirectory() as log_dir:
        for clients in args.clients:
            for servers in server_counts:
                chat_results, errors = run_chat(servers, clients, args, log_dir, redis_clients)
                results += chat_results
                log_errors += errors
            results += run_tutorial(clients, args, log_dir, redis_clients)
            results += run_ceiling(clients, args, log_dir)

    report(results)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    chart(results, args.chart)
    print(f"results: {args.results}, chart: {args.chart}")
    for line in log_errors[:20]:
        print(f"server log: {line}")
    lost = sum(r.lost for r in results if r.target != "tutorial")
    return 1 if lost or log_errors else 0


if __name__ == "__main__":
    sys.exit(main())
