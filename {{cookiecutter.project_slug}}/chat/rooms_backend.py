"""Where the realtime core keeps history and asks who may join a room.

``settings.CHAT_ROOMS_BACKEND`` names a package with two modules, ``history`` and
``membership``, that offer the names below: ``rooms`` saves messages and keeps members
and private rooms in the database; ``chat.unsaved`` keeps nothing and every room is
public. The core, the pages and the probe import them from here, never from a backend.
"""

from importlib import import_module

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

HISTORY_NAMES = [
    "KEEPS_HISTORY",
    "OUTAGES",
    "active_rooms",
    "delete_sent_message",
    "edit_message",
    "erase_message",
    "history_frame",
    "may_delete_any",
    "resume_frame",
    "save_message",
]
MEMBERSHIP_NAMES = ["KEEPS_MEMBERS", "NotAMember", "conversations", "mark_read", "refusal", "seat"]


def backend_module(name, required):
    dotted = f"{settings.CHAT_ROOMS_BACKEND}.{name}"
    try:
        module = import_module(dotted)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"CHAT_ROOMS_BACKEND = {settings.CHAT_ROOMS_BACKEND!r}: cannot import {dotted} ({exc})."
        ) from exc
    missing = [attribute for attribute in required if not hasattr(module, attribute)]
    if missing:
        raise ImproperlyConfigured(f"{dotted} does not define {', '.join(missing)}.")
    return module


history = backend_module("history", HISTORY_NAMES)
membership = backend_module("membership", MEMBERSHIP_NAMES)
