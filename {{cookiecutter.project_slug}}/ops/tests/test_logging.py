import subprocess
import sys

from testing.processes import PROJECT_DIR

LOG_ONCE = """
import logging, django
django.setup()
# Where the development server logs each request.
logging.getLogger("django.channels.server").info("a request line")
logging.getLogger("chat").warning("a chat line")
"""


FOREIGN_HOST = """
import django
django.setup()
from django.test import Client
for _ in range(3):
    assert Client().get("/", HTTP_HOST="evil.example").status_code == 400
"""


def logged_by(script):
    """What ``script`` logs, run with the project's settings and logging."""
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_DIR,
        env={"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    ).stderr


def test_each_log_line_is_printed_once():
    logged = logged_by(LOG_ONCE)

    assert logged.count("a request line") == 1, logged
    assert logged.count("a chat line") == 1, logged


def test_a_foreign_host_header_is_logged_as_one_line_per_request():
    logged = logged_by(FOREIGN_HOST)

    line = "Invalid HTTP_HOST header: 'evil.example'. You may need to add 'evil.example' to "
    assert logged.splitlines() == [f"{line}ALLOWED_HOSTS."] * 3
