"""Where the realtime core keeps history and asks who may join a room.

``settings.CHAT_ROOMS_BACKEND`` names a package with two modules, ``history`` and
``membership``, that offer the names below: ``rooms`` saves messages and keeps members
and private rooms in the database; ``chat.unsaved`` keeps nothing and every room is
public. The core, the pages and the probe import them from here, never from a backend.
"""

from django.conf import settings

from chat.configured import configured_module

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
MEMBERSHIP_NAMES = [
    "KEEPS_MEMBERS",
    "NotAMember",
    "conversations",
    "mark_read",
    "refusal",
    "seat",
    "title",
]


def backend_module(name, names):
    return configured_module("CHAT_ROOMS_BACKEND", f"{settings.CHAT_ROOMS_BACKEND}.{name}", names)


history = backend_module("history", HISTORY_NAMES)
membership = backend_module("membership", MEMBERSHIP_NAMES)
