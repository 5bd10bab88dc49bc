"""Logging filters of the project's LOGGING (config/settings.py)."""

import logging


class SecurityEventsWithoutTraceback(logging.Filter):
    """Django logs every request it refuses as suspicious (a foreign Host header, for one)
    with the traceback of its exception, and on a public server such probes never stop:
    their message says all there is to know, on one line."""

    def filter(self, record):
        if record.name.startswith("django.security."):
            record.exc_info = None
            record.exc_text = None
        return True
