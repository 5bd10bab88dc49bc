"""Server processes for the scripts in bench/: this project's daphne, on loopback ports."""

import os
import re
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

PROJECT_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# The production server command (config/serve.py: daphne on uvloop), run with -m.
SERVE_MODULE = "config.serve"
ORIGIN = f"http://{HOST}"
# channels-redis drops a message for every socket of a server process whose inbox is full,
# and says so only at INFO level: "N of M channels over capacity".
ERROR_IN_LOG = re.compile(
    r"Traceback|Exception inside application|\bERROR\b|CRITICAL|over capacity"
)
IN_MEMORY_LAYER = "channels.layers.InMemoryChannelLayer"
# The clients of a load test all come from this machine's address, without cookies, and
# send far faster than people: the per-sender and per-address limits that protect a
# server from one client would measure themselves.
LOAD_TEST_LIMITS = {
    name: "1000000"
    for name in (
        "CHAT_RATE_LIMIT_BURST",
        "CHAT_RATE_LIMIT_PER_SECOND",
        "CHAT_SOCKET_FRAME_BURST",
        "CHAT_SOCKET_FRAMES_PER_SECOND",
        "CHAT_MAX_SOCKETS_PER_ADDRESS",
    )
}


def channel_layer():
    """The default channel layer of this project's settings (its CHANNEL_LAYERS entry), read
    with this process's environment, which the servers started here inherit."""
    # Python put bench/ on the path, not the project holding the settings.
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return settings.CHANNEL_LAYERS["default"]


def shared_by_processes(layer):
    """Whether a channel layer carries messages between server processes: the in-memory
    layer carries them between the sockets of one process only."""
    return layer["BACKEND"] != IN_MEMORY_LAYER


def require_shared_layer(parser, layer, servers):
    """Stop, with one line, if several server processes would each have rooms of their own."""
    if servers > 1 and not shared_by_processes(layer):
        parser.exit(
            2,
            f"{parser.prog}: error: --servers {servers}: the in-memory channel layer carries "
            "messages within one process only; run one server, or set REDIS_URL to use Redis\n",
        )


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def raise_open_file_limit(sockets):
    # Each socket is a file descriptor here and one in a server.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 2 * sockets + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def wait_until_listening(process, port, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server on port {port} did not start") from None
            time.sleep(0.1)


class Servers:
    """Processes started from commands (with {port} in them), logging to log_dir; stopped,
    and their logs closed, on leaving the with block."""

    def __init__(self, log_dir, env=None):
        self.log_dir = Path(log_dir)
        self.env = {**os.environ, "DJANGO_ALLOWED_HOSTS": HOST, **(env or {})}
        self.started = []

    def start(self, command, name):
        port = free_port()
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 (closed in __exit__)
        process = subprocess.Popen(
            [part.format(port=port) for part in command],
            cwd=PROJECT_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process.port = port
        self.started.append((process, log))
        wait_until_listening(process, port)
        return process

    def start_daphne(self, name, application="config.asgi:application", module=SERVE_MODULE):
        """Start daphne as production does, on uvloop (config/serve.py), or, with
        module="daphne", as the Channels tutorial does."""
        command = [sys.executable, "-m", module, "-b", HOST, "-p", "{port}"]
        return self.start([*command, application], name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        for process, log in self.started:
            process.terminate()
            process.wait(timeout=30)
            log.close()

    def log_errors(self):
        """The lines of the logs of the processes started here that tell of an error."""
        return [
            line
            for _, log in self.started
            for line in Path(log.name).read_text(errors="replace").splitlines()
            if ERROR_IN_LOG.search(line)
        ]
