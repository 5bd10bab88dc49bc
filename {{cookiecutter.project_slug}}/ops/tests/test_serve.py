"""The production server command, config/serve.py, runs daphne on uvloop."""

import inspect
import subprocess
import sys

from autobahn.websocket.protocol import WebSocketProtocol

from testing.processes import PROJECT_DIR

# In a process of its own: importing config.serve installs Twisted's reactor, which this
# one has installed already (through Channels' testing tools).
DAPHNE_LOOP = (
    "import config.serve, daphne.server; "
    "print(type(daphne.server.reactor._asyncioEventloop).__module__)"
)


def printed_by(code):
    """What ``code`` prints, run in a Python process of its own in the project."""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_daphne_runs_on_uvloop():
    # Were daphne to make and use its own loop again, every server would still work, only
    # slower: nothing else would notice.
    assert printed_by(DAPHNE_LOOP) == "uvloop"


AUTOBAHN_PFORMAT = (
    "import ops.server, autobahn.websocket.protocol as autobahn; print(autobahn.pformat([1]))"
)


def test_autobahn_still_formats_its_options_for_a_debug_line_on_every_handshake():
    # ops.server makes that formatting free: once autobahn no longer does it, drop that.
    assert "pformat(configAttrLog)" in inspect.getsource(WebSocketProtocol._connectionMade)
    # In a process of its own, as above: ops.server imports daphne's server.
    assert printed_by(AUTOBAHN_PFORMAT) == "(not formatted: ops.server)"
