"""Who is speaking: the username of a logged-in user, or a guest name kept in the session."""

import hashlib
import secrets

GUEST_NAME_SESSION_KEY = "chat_guest_name"
# A secret of the guest's session: what makes a guest's messages theirs to edit and
# delete. Their name cannot: it is short, shown to everyone, and drawn anew per session.
GUEST_KEY_SESSION_KEY = "chat_guest_key"
# Every guest name starts so, and no username may (accounts.forms).
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
        session[GUEST_KEY_SESSION_KEY] = secrets.token_hex(16)
    return name


def guest_key(user, session):
    """The secret of a guest's session ("" for a logged-in user, or a session without
    one); display_name() makes it with the guest's name."""
    if user.is_authenticated:
        return ""
    return session.get(GUEST_KEY_SESSION_KEY, "")


def guest_key_hash(key):
    """What a message keeps of its guest author's key: enough to recognise it, not to
    use it."""
    return hashlib.sha256(key.encode()).hexdigest() if key else ""
