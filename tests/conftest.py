import importlib.util
import os
import socket
from pathlib import Path

import pytest

TEMPLATE_DIR = Path(__file__).resolve().parent.parent
REDIS_ADDRESS = ("127.0.0.1", 6379)
POSTGRES_ADDRESS = ("127.0.0.1", 5432)


def load_module(relative_path):
    """Import a hook or extension by path: hooks/ is a folder of scripts, not a package."""
    path = TEMPLATE_DIR / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def is_listening(address):
    try:
        with socket.create_connection(address, timeout=2):
            return True
    except OSError:
        return False


def require_service(name, address):
    """Skip when a service is missing on a developer's machine; fail under CI."""
    if is_listening(address):
        return
    message = f"{name} is not reachable at {address[0]}:{address[1]}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI must run every variant.")
    pytest.skip(f"{message}; start it to test the variants that use it.")


def pytest_collection_modifyitems(items):
    # The slow tests first, the slowest (by their weight mark) before the others. With
    # `--dist loadgroup` (.ci/run), where each test is a unit of its own, every worker starts
    # on one of them and queues a second, and the quick tests fill in after: none is left
    # alone with a long one at the end. (`load` and `worksteal` hand out the first tests in
    # one block, all of them to one worker.)
    def order(item):
        weight = item.get_closest_marker("weight")
        return (item.get_closest_marker("suite") is None, -(weight.args[0] if weight else 0))

    items.sort(key=order)
