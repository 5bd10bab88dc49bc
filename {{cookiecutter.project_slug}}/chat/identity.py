"""Who is speaking: the username of a logged-in user, or a guest name kept in the session."""

import secrets

GUEST_NAME_SESSION_KEY = "chat_guest_name"
# Every guest name starts so, and no username may (chat.forms).
GUEST_PREFIX = "guest-"


def new_guest_name():
    return f"{GUEST_PREFIX}{secrets.token_hex(3)}"


def is_guest(user):
    """Whether ``user`` chats as a guest, under a name no account holds."""
    return not user.is_authenticated


def display_name(user, session):
    """Return the name ``user`` chats under, giving a guest a name for the session's life.

    The room page calls this before its socket connects, so the session saved with that
    response already holds the guest name the socket will use.
    """
    if user.is_authenticated:
        return user.get_username()
    name = session.get(GUEST_NAME_SESSION_KEY)
    if name is None:
        name = new_guest_name()
        session[GUEST_NAME_SESSION_KEY] = name
    return name
