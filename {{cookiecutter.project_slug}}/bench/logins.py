"""Measure what a burst of logins does to the chat's round trip.

Starts a daphne process of this project (on a loopback port, with the database and
channel layer of your environment: run `manage.py migrate` first), signs up a user,
then measures the round trip of a chat message (sent, and back on the same socket)
--trips times while nothing else happens, and --trips times while --logins clients log
in over and over, each login hashing the password at full strength. Prints both, and
their ratio; a ratio near 1 means logins do not hold up the chat.

    python bench/logins.py --logins 8 --trips 200
"""

import argparse
import asyncio
import http.cookiejar
import json
import secrets
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

from processes import HOST, LOAD_TEST_LIMITS, ORIGIN, Servers
from websockets.asyncio.client import connect

ROOM = "logins-bench"


def whole_number(text):
    value = int(text)
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 1000")
    return value


def logs_in(port, path, fields):
    """Post a form as a browser would, with the CSRF token of a fresh visit; whether it
    left the browser logged in."""
    cookies = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))
    opener.open(f"http://{HOST}:{port}/accounts/login/", timeout=60).read()
    token = next(cookie.value for cookie in cookies if cookie.name == "csrftoken")
    request = urllib.request.Request(
        f"http://{HOST}:{port}{path}",
        data=urllib.parse.urlencode(fields).encode(),
        headers={"X-CSRFToken": token},
    )
    opener.open(request, timeout=60).read()
    return any(cookie.name == "sessionid" for cookie in cookies)


def keep_logging_in(port, username, password, stop, done):
    while not stop.is_set():
        if not logs_in(port, "/accounts/login/", {"username": username, "password": password}):
            raise RuntimeError(f"{username} could not log in")
        done.append(1)


async def round_trips(url, count):
    """``count`` round trips of a message, one after another, in milliseconds."""
    times = []
    async with connect(url, origin=ORIGIN) as websocket:
        for number in range(count):
            client_id = f"trip-{number}"
            started = time.perf_counter()
            await websocket.send(json.dumps({"message": "ping", "client_id": client_id}))
            while json.loads(await websocket.recv()).get("client_id") != client_id:
                pass
            times.append((time.perf_counter() - started) * 1000)
    return times


def summary(times):
    ordered = sorted(times)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    median, worst = statistics.median(ordered), ordered[-1]
    return f"p50 {median:6.1f} ms   p95 {p95:6.1f} ms   max {worst:6.1f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=whole_number, default=8, help="clients logging in")
    parser.add_argument("--trips", type=whole_number, default=200, help="round trips a phase")
    args = parser.parse_args()
    username, password = f"bench-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    # Every login comes from this machine's address, with the right password.
    env = {**LOAD_TEST_LIMITS, "CHAT_SIGNUP_RATE": "1000/s"}

    with tempfile.TemporaryDirectory() as log_dir, Servers(log_dir, env=env) as servers:
        server = servers.start_daphne("server")
        url = f"ws://{HOST}:{server.port}/ws/chat/{ROOM}/"
        signup = {"username": username, "password1": password, "password2": password}
        if not logs_in(server.port, "/accounts/signup/", signup):
            parser.exit(1, "could not sign up\n")

        quiet = asyncio.run(round_trips(url, args.trips))
        stop, done = threading.Event(), []
        clients = [
            threading.Thread(
                target=keep_logging_in, args=(server.port, username, password, stop, done)
            )
            for _ in range(args.logins)
        ]
        for client in clients:
            client.start()
        started = time.perf_counter()
        busy = asyncio.run(round_trips(url, args.trips))
        seconds = time.perf_counter() - started
        stop.set()
        for client in clients:
            client.join()
        errors = servers.log_errors()

    print(f"quiet:            {summary(quiet)}")
    print(f"{args.logins} logging in:    {summary(busy)}   ({len(done) / seconds:.1f} logins/s)")
    print(f"ratio, busy/quiet: p50 {statistics.median(busy) / statistics.median(quiet):.2f}")
    for line in errors:
        print(f"server log: {line}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
