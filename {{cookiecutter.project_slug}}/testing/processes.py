"""This project's server processes, and others the tests start (Redis, nginx), on loopback
ports: for the tests and for bench/, which import it without Django set up.

A server binds a port the system picks and says which, where it can (daphne, and
bench/ceiling.py, print "Listening on TCP address HOST:PORT"): a port found free
beforehand can be taken by another process before the server binds it. A server that
must be told its port (Redis, nginx) gets one held for it until it binds it: see
reserved_port().
"""

import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
# Browsers send an Origin; servers started with DJANGO_ALLOWED_HOSTS=HOST accept this one.
ORIGIN = f"http://{HOST}"
# The production server command (config/serve.py: daphne on uvloop), run with -m.
SERVE_MODULE = "config.serve"
APPLICATION = "config.asgi:application"
# What daphne, and the servers of bench/, print once they listen, with the port.
LISTENING = re.compile(rf"Listening on TCP address {re.escape(HOST)}:(\d+)")


def wait_until(condition, what, timeout):
    """Call condition() until it returns something true, and return that; TimeoutError,
    naming ``what``, once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(0.1)
    return result


def manage(*arguments, env, check=False):
    """Run this project's manage.py with ``arguments`` in the environment ``env`` (the
    server processes', say, to reach their database); return the finished process, its
    output captured."""
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=PROJECT_DIR,
        env=env,
        check=check,
        capture_output=True,
        text=True,
        timeout=60,
    )


def unused_port():
    """A port nothing listens on just now: for a client that must find no server. Never
    start a server on it."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def accepts_connections(port):
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def start(command, env, log):
    """Start ``command`` (a server that binds port 0 and prints LISTENING), writing what it
    prints to the file ``log``; return it once it listens, with its ``port``."""
    printed_before = log.stat().st_size if log.exists() else 0
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, cwd=PROJECT_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
        )

    def listening():
        printed = log.read_bytes()[printed_before:].decode(errors="replace")
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{printed}")
        if "Listen failure" in printed:
            raise RuntimeError(f"server could not listen:\n{printed}")
        found = LISTENING.search(printed)
        return found and int(found.group(1))

    try:
        process.port = wait_until(listening, "the server to listen", timeout=30)
    except BaseException:
        stop_process(process)
        raise
    return process


def start_daphne(
    env, daphne_options=(), log=None, port=0, module=SERVE_MODULE, application=APPLICATION
):
    """Start one daphne process as production does (on uvloop, config/serve.py), or with
    module="daphne" as the Channels tutorial does; see start(). It binds a port the system
    picks, unless given the ``port`` of a server it replaces, as a restart does. Without
    ``log``, what it prints goes to a file of its own, its ``own_log``."""
    own_log = log is None
    if own_log:
        log = Path(tempfile.mkstemp(prefix="chat-server-", suffix=".log")[1])
    command = [sys.executable, "-m", module, "-b", HOST, "-p", str(port), *daphne_options]
    process = start([*command, application], env, log)
    process.own_log = log if own_log else None
    return process


def reserved_port():
    """A port held for a server that must be told its number (Redis, nginx).

    The port is left in TIME_WAIT by a connection this function makes to itself. While it
    is, the system hands it to no one who asks for any free port (as daphne and every
    client do), yet a server that binds it by number with SO_REUSEADDR, as Redis and nginx
    do, may take it: the technique of Yelp's ephemeral-port-reserve."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, 0))
        listener.listen(1)
        address = listener.getsockname()
        with socket.create_connection(address):
            accepted, _ = listener.accept()
            # The side that closes first keeps the port in TIME_WAIT: this one.
            accepted.close()
        return address[1]


def start_on_a_reserved_port(launch, what):
    """Start a server that must be told its port: ``launch(port)`` starts it on a
    reserved_port() and returns the process. Returns it once it accepts connections."""
    port = reserved_port()
    process = launch(port)
    try:
        wait_until(
            lambda: process.poll() is not None or accepts_connections(port),
            f"{what} on port {port}",
            timeout=10,
        )
    except BaseException:
        stop_process(process)
        raise
    if process.poll() is not None:
        raise RuntimeError(f"{what} exited with {process.returncode} instead of listening")
    process.port = port
    return process


def stop_process(process):
    """Stop a server; what it printed to its own log goes to stderr, shown with the output
    of a test that fails."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log, process.own_log = getattr(process, "own_log", None), None
    if log is not None:
        sys.stderr.write(log.read_text(errors="replace"))
        log.unlink(missing_ok=True)
