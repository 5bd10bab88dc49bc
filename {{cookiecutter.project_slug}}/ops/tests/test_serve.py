"""The production server command, config/serve.py, runs daphne on uvloop."""

import subprocess
import sys

from testing.processes import PROJECT_DIR

# In a process of its own: importing config.serve installs Twisted's reactor, which this
# one has installed already (through Channels' testing tools).
DAPHNE_LOOP = (
    "import config.serve, daphne.server; "
    "print(type(daphne.server.reactor._asyncioEventloop).__module__)"
)


def test_daphne_runs_on_uvloop():
    # Were daphne to make and use its own loop again, every server would still work, only
    # slower: nothing else would notice.
    result = subprocess.run(
        [sys.executable, "-c", DAPHNE_LOOP],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "uvloop"
