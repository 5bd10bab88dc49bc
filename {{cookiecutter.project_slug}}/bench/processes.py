"""Server processes for the scripts in bench/: this project's daphne and the bare ceiling
server, on ports they bind themselves (testing.processes, which the tests use too)."""

import os
import re
import resource
import sys
from pathlib import Path

# Python put bench/ on the path, not the project that holds the settings and testing/; the
# settings are this project's, read with this process's environment, which the servers
# started here inherit.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.conf import settings

from testing.processes import HOST, ORIGIN, PROJECT_DIR, SERVE_MODULE, start, start_daphne

# channels-redis drops a message for every socket of a server process whose inbox is full,
# and says so only at INFO level: "N of M channels over capacity".
ERROR_IN_LOG = re.compile(
    r"Traceback|Exception inside application|\bERROR\b|CRITICAL|over capacity"
)
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
__all__ = ["HOST", "ORIGIN", "PROJECT_DIR", "SERVE_MODULE"]


def channel_layer():
    """The default channel layer of this project's settings (its CHANNEL_LAYERS entry)."""
    return settings.CHANNEL_LAYERS["default"]


def shared_by_processes():
    """Whether server processes share rooms, presence and limits (chat.stores): with the
    in-memory layer each process has its own."""
    from chat import stores

    return stores.shared_by_processes()


def require_shared_layer(parser, servers):
    """Stop, with one line, if several server processes would each have rooms of their own."""
    if servers > 1 and not shared_by_processes():
        parser.exit(
            2,
            f"{parser.prog}: error: --servers {servers}: the in-memory channel layer carries "
            "messages within one process only; run one server, or set REDIS_URL to use Redis\n",
        )


def raise_open_file_limit(sockets):
    # Each socket is a file descriptor here and one in a server.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 2 * sockets + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


class Servers:
    """Server processes, each logging to a file of log_dir; stopped on leaving the with
    block."""

    def __init__(self, log_dir, env=None):
        self.log_dir = Path(log_dir)
        self.env = {**os.environ, "DJANGO_ALLOWED_HOSTS": HOST, **(env or {})}
        self.started = []

    def log(self, name):
        return self.log_dir / f"{name}.log"

    def start(self, command, name):
        """Start ``command``, a server that binds port 0 and says which port it got."""
        process = start(command, self.env, self.log(name))
        self.started.append(process)
        return process

    def start_daphne(self, name, application="config.asgi:application", module=SERVE_MODULE):
        """Start daphne as production does, on uvloop (config/serve.py), or, with
        module="daphne", as the Channels tutorial does."""
        process = start_daphne(self.env, log=self.log(name), module=module, application=application)
        self.started.append(process)
        return process

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        for process in self.started:
            process.terminate()
            process.wait(timeout=30)

    def log_errors(self):
        """The lines of the logs of the processes started here that tell of an error."""
        return [
            line
            for path in sorted(self.log_dir.glob("*.log"))
            for line in path.read_text(errors="replace").splitlines()
            if ERROR_IN_LOG.search(line)
        ]
