"""Who is speaking: the username of a logged-in user, or a guest name kept in the session."""

import secrets

GUEST_NAME_SESSION_KEY = "chat_guest_name"


def new_guest_name():
    return f"guest-{secrets.token_hex(3)}"


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
