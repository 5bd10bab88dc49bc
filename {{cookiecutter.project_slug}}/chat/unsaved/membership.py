"""Every room is public in this project: anyone may open any name.

Private rooms, direct conversations, roles and read markers need saved messages; a
project that saves them has, in this module's place, one with the same names that keeps
members.
"""

KEEPS_MEMBERS = False


class NotAMember(Exception):
    """Never raised here: every room is public."""


def refusal():
    return ""


def seat(user, room_name):
    return None  # public: nobody's membership


def title(room, user):
    return room  # every room is called by its name


def conversations(user, after=None):
    return [], None  # no private rooms, and no page after this one


def mark_read(user, room_name, message_id):
    return None  # no read markers are kept
