import subprocess
import sys

from chat.tests.servers import PROJECT_DIR

LOG_ONCE = """
import logging, django
django.setup()
# Where the development server logs each request.
logging.getLogger("django.channels.server").info("a request line")
logging.getLogger("chat").warning("a chat line")
"""


def test_each_log_line_is_printed_once():
    result = subprocess.run(
        [sys.executable, "-c", LOG_ONCE],
        cwd=PROJECT_DIR,
        env={"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stderr.count("a request line") == 1, result.stderr
    assert result.stderr.count("a chat line") == 1, result.stderr
