"""The shipped proxy configuration, deploy/nginx.conf, run by a real nginx in front of two
real server processes sharing Redis: the topology compose.yaml runs, minus containers.
Only the upstream addresses and the listening port are changed."""

import asyncio
import contextlib
import shutil
import signal
import subprocess
import urllib.request
import uuid

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chat import protocol
from chat.rooms_backend import history
from testing.processes import HOST, ORIGIN, PROJECT_DIR, start_on_a_reserved_port, stop_process
from testing.servers import STEADY_SENDING, SteadyRoom, receive, room_url, round_trip, wait_closed

pytestmark = pytest.mark.django_db(transaction=True)

NGINX = shutil.which("nginx", path="/usr/sbin:/usr/local/sbin:/usr/bin:/usr/local/bin")
COMPOSE_UPSTREAM = "    server web:8000 max_fails=3 fail_timeout=10s;\n"


def nginx_config(tmp_path, ports, listen_port):
    site = (PROJECT_DIR / "deploy" / "nginx.conf").read_text()
    assert COMPOSE_UPSTREAM in site and "listen 80;" in site
    upstreams = "".join(COMPOSE_UPSTREAM.replace("web:8000", f"{HOST}:{port}") for port in ports)
    site = site.replace(COMPOSE_UPSTREAM, upstreams).replace(
        "listen 80;", f"listen {HOST}:{listen_port};"
    )
    (tmp_path / "site.conf").write_text(site)
    # What the Debian package's nginx.conf would give, kept inside tmp_path.
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"daemon off;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\nhttp {\n    access_log off;\n"
        + "".join(
            f"    {kind}_temp_path {tmp_path}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f"    include {tmp_path}/site.conf;\n}}\n"
    )
    return main


@contextlib.contextmanager
def nginx_in_front(tmp_path, processes):
    """A real nginx with deploy/nginx.conf in front of ``processes``; yields its port."""
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx)")

    def launch(port):
        config = nginx_config(tmp_path, [process.port for process in processes], port)
        subprocess.run([NGINX, "-t", "-q", "-p", str(tmp_path), "-c", str(config)], check=True)
        return subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(config)])

    nginx = start_on_a_reserved_port(launch, "nginx")
    try:
        yield nginx.port
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)


@pytest.fixture
def proxied(start_server, tmp_path):
    """Two server processes behind nginx; yields (nginx's port, the processes)."""
    # As the Dockerfile runs them: client addresses from nginx's X-Forwarded-For.
    processes = [start_server(["--proxy-headers"]) for _ in range(2)]
    with nginx_in_front(tmp_path, processes) as port:
        yield port, processes


async def test_pages_and_sockets_pass_the_proxy_and_spread_over_both_processes(proxied):
    port, processes = proxied
    with urllib.request.urlopen(f"http://{HOST}:{port}/") as response:
        assert response.status == 200
    room = f"proxy-{uuid.uuid4().hex}"
    url = f"ws://{HOST}:{port}/ws/chat/{room}/"
    sockets = [await connect(url, origin=ORIGIN) for _ in range(4)]

    await sockets[0].send('{"message": "through the proxy"}')
    for websocket in sockets:
        assert (await receive(websocket, "chat.message"))["message"] == "through the proxy"

    # Once a process stops, nginx closes the sockets it served; the others still hear the
    # room, here through the other process directly: nginx had spread them over both.
    stop_process(processes[0])
    assert await round_trip(room_url(processes[1], room), "still here") == "still here"
    open_sockets = []
    for websocket in sockets:
        try:
            frame = await receive(websocket, "chat.message")
        except ConnectionClosed:
            continue
        assert frame["message"] == "still here"
        open_sockets.append(websocket)
    assert 0 < len(open_sockets) < len(sockets)
    for websocket in open_sockets:
        await websocket.close()


async def test_a_forged_forwarded_address_does_not_escape_the_address_cap(start_server, tmp_path):
    # The client's own X-Forwarded-For is replaced by nginx, not passed on: otherwise a
    # client could name a new address for every socket.
    server = start_server(["--proxy-headers"], CHAT_MAX_SOCKETS_PER_ADDRESS="1")
    with nginx_in_front(tmp_path, [server]) as port:
        url = f"ws://{HOST}:{port}/ws/chat/lobby/"
        forged = {"X-Forwarded-For": "203.0.113.1"}
        async with connect(url, origin=ORIGIN, additional_headers=forged) as first:
            await receive(first, "chat.history")
            forged = {"X-Forwarded-For": "203.0.113.2"}
            async with connect(url, origin=ORIGIN, additional_headers=forged) as second:
                assert await wait_closed(second) == protocol.CLOSE_TOO_MANY_SOCKETS


async def test_a_rolling_deploy_loses_no_message_and_repeats_none(start_server, tmp_path):
    # Two processes behind nginx, clients on both and a sender sending steadily; each
    # process in turn is stopped (SIGTERM: it drains) and started again, as a rolling
    # deploy does. Every client ends with every message, once, in order (where messages
    # are saved: elsewhere, with those sent while it was there).
    settings = {"CHAT_DRAIN_SPREAD": "1", **STEADY_SENDING}
    logs = [tmp_path / "server-0.log", tmp_path / "server-1.log"]
    processes = [start_server(["--proxy-headers"], log=log, **settings) for log in logs]
    with nginx_in_front(tmp_path, processes) as port:
        url = f"ws://{HOST}:{port}/ws/chat/deploy-{uuid.uuid4().hex}/"
        room = SteadyRoom(url, 6, keeps_history=history.KEEPS_HISTORY)
        await room.start()
        for index, process in enumerate(processes):
            await asyncio.sleep(1)
            process.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(process.wait, 20) == 0
            processes[index] = await asyncio.to_thread(
                start_server, ["--proxy-headers"], process.port, logs[index], **settings
            )
        await asyncio.sleep(1)
        await room.stop()
    room.check_deliveries()
    # Both processes sent their sockets away, and every client came back.
    closes = [code for client in room.clients for code in client.closes]
    assert closes.count(protocol.CLOSE_GOING_AWAY) >= len(room.clients)
    for log in logs:
        printed = log.read_text()
        assert printed.count("Drained: every socket has left.") == 1
        assert "Traceback" not in printed and "Exception" not in printed
