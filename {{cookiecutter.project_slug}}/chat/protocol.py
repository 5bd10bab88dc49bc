"""The wire protocol between clients and the chat consumer: frame shapes, error codes,
close codes, and validation of what clients send.

This module is the one source of the protocol: the consumer dispatches on CLIENT_FRAMES,
the room page hands client_constants() to the browser client, and a test keeps the
tables of docs/protocol.md in step with ERROR_CODES and CLOSE_CODES.
"""

import heapq
import itertools
import json
import math
import re
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.timesince import timeuntil
from django.utils.translation import gettext as _

# Close codes. 4000-4999 are for applications; daphne lets applications send only 1000
# and 3000-4999, so "going away" and "try again later" cannot be the standard 1001 and 1013.
# This server process is shutting down (a deploy or restart, ops.drain): reconnect after
# the delay of the reconnect frame sent just before; the proxy sends you to another.
CLOSE_GOING_AWAY = 4001
CLOSE_INVALID_ROOM = 4400
CLOSE_LOGIN_REQUIRED = 4401
# Forbidden: the session the socket was opened with no longer logs its user in (logged
# out, password changed, made inactive, deleted or expired: chat.session_watch; log in
# again), or the room is private and its user is not a member, or no longer is: removed
# or banned (rooms.membership; a forbidden error frame comes first). Do not reconnect.
CLOSE_FORBIDDEN = 4403
# The sender or the client address already holds as many sockets as it may
# (chat.limits.socket_caps): close another tab or window of the chat first.
CLOSE_TOO_MANY_SOCKETS = 4409
CLOSE_TOO_MANY_MESSAGES = 4429
# The channel layer cannot be reached (Redis is away), or too many sockets are waiting to
# join (chat.limits.admission): reconnect in a few seconds.
CLOSE_TRY_AGAIN_LATER = 4503
# Sent by the server (daphne, ops/server.py) before the consumer sees the frame.
CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_INVALID_TEXT = 1007
CLOSE_TOO_MANY_FRAMES = 1008

CLOSE_CODES = {
    CLOSE_GOING_AWAY: "going_away",
    CLOSE_INVALID_ROOM: "invalid_room",
    CLOSE_LOGIN_REQUIRED: "login_required",
    CLOSE_FORBIDDEN: "forbidden",
    CLOSE_TOO_MANY_SOCKETS: "too_many_sockets",
    CLOSE_TOO_MANY_MESSAGES: "too_many_messages",
    CLOSE_TRY_AGAIN_LATER: "try_again_later",
    CLOSE_MESSAGE_TOO_BIG: "message_too_big",
    CLOSE_INVALID_TEXT: "invalid_text",
    CLOSE_TOO_MANY_FRAMES: "too_many_frames",
}

# Error codes sent in {"type": "error"} frames. The socket stays open after each, but for
# invalid_room and unavailable, each sent just before a close.
BINARY_NOT_SUPPORTED = "binary_not_supported"
INVALID_JSON = "invalid_json"
INVALID_FRAME = "invalid_frame"
UNKNOWN_TYPE = "unknown_type"
INVALID_MESSAGE = "invalid_message"
MESSAGE_TOO_LONG = "message_too_long"
INVALID_ROOM = "invalid_room"
NOT_SAVED = "not_saved"
HISTORY_UNAVAILABLE = "history_unavailable"
RATE_LIMITED = "rate_limited"
UNAVAILABLE = "unavailable"
# An edit or delete of a message that is not in the room (or is deleted), or not yours.
NOT_FOUND = "not_found"
# Not allowed: another's message, or a private room you are not a member of.
FORBIDDEN = "forbidden"
# A moderator muted you in this room: "retry_after" says for how many more seconds.
MUTED = "muted"
# A private room cannot take a name a room has already (HTTP API).
ROOM_TAKEN = "room_taken"

ERROR_CODES = frozenset(
    {
        BINARY_NOT_SUPPORTED,
        INVALID_JSON,
        INVALID_FRAME,
        UNKNOWN_TYPE,
        INVALID_MESSAGE,
        MESSAGE_TOO_LONG,
        INVALID_ROOM,
        NOT_SAVED,
        HISTORY_UNAVAILABLE,
        RATE_LIMITED,
        UNAVAILABLE,
        NOT_FOUND,
        FORBIDDEN,
        MUTED,
        ROOM_TAKEN,
    }
)

# Frame types.
CHAT_MESSAGE = "chat.message"
CHAT_HISTORY = "chat.history"
CHAT_RESUME = "chat.resume"
CHAT_EDIT = "chat.edit"
CHAT_DELETE = "chat.delete"
CHAT_READ = "chat.read"
TYPING = "typing"
PRESENCE = "presence"
RECONNECT = "reconnect"
ERROR = "error"

MAX_CLIENT_ID_LENGTH = 64
# Presence frames list this many names at most, and count them all.
MAX_PRESENCE_LISTED = 100

# Message ids are PostgreSQL bigints and SQLite integers.
MAX_MESSAGE_ID = 2**63 - 1
# A reply carries this much of the message it answers: enough to recognise it.
REPLY_EXCERPT_LENGTH = 140

# Control characters other than tab, newline and carriage return, and lone surrogates
# (JSON can spell one as "\ud800"; UTF-8 cannot encode it). PostgreSQL cannot store NUL.
FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class ChatError(Exception):
    """What the chat refuses, and why: ``code`` is one of the error codes above, ``detail``
    a text for people. The one error of the chat's rules, whatever the transport: the
    socket sends it as an error frame (naming the frame it answers by ``client_id``, when
    that was valid), the HTTP API as a JSON error, and the pages as a form error."""

    def __init__(self, code, detail, client_id=None):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.client_id = client_id


class Muted(ChatError):
    """The sender is muted in the room for ``seconds`` more."""

    def __init__(self, seconds, client_id=None):
        now = timezone.now()
        left = timeuntil(now + timedelta(seconds=math.ceil(seconds)), now, depth=1)
        super().__init__(
            MUTED,
            _("A moderator muted you here: you can write again in %(time)s.") % {"time": left},
            client_id,
        )
        self.seconds = seconds


def encode(frame):
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def error(code, detail, client_id=None, message_id=None):
    """An error frame; naming the frame it answers by its ``client_id``, and the message
    an edit or delete was refused for by its id."""
    frame = {"type": ERROR, "code": code, "detail": detail}
    if client_id is not None:
        frame["client_id"] = client_id
    if message_id is not None:
        frame["id"] = message_id
    return frame


def refusal(exc, message_id=None):
    """The error frame of the ChatError ``exc``: a muted one says for how long."""
    frame = error(exc.code, exc.detail, exc.client_id, message_id)
    if isinstance(exc, Muted):
        frame["retry_after"] = round(exc.seconds, 3)
    return frame


def rate_limited(retry_after, client_id=None):
    return {
        **error(
            RATE_LIMITED, _("You are sending messages too fast; this one was not sent."), client_id
        ),
        "retry_after": round(retry_after, 3),
    }


def typing(user, *, guest):
    return {"type": TYPING, "user": user, "guest": guest}


def presence(online, *, joined=None, left=None, users=None):
    """Who is online, from a {display name: socket count} mapping, listing its
    first_online() names or ``users``; and who just came or went, when someone did."""
    if users is None:
        users = first_online(online)
    frame = {"type": PRESENCE, "users": users, "count": len(online)}
    if joined:
        frame["joined"] = joined
    if left:
        frame["left"] = left
    return frame


def first_online(online):
    """The names a presence frame lists: the first MAX_PRESENCE_LISTED in order, without
    sorting every name of a big room."""
    return heapq.nsmallest(MAX_PRESENCE_LISTED, online, key=str.casefold)


def chat_message(
    *, text, user, guest, ts, message_id=None, edited_at=None, deleted=False, reply_to=None
):
    """A message; ``guest`` says that ``user`` is a guest's name, not an account's. A
    saved message may have been edited since (``edited_at``), or deleted: then its text
    is gone, and it stands in history as a placeholder. A reply carries what it answers
    (``reply_to``, a reply_excerpt())."""
    frame = {
        "type": CHAT_MESSAGE,
        "message": text,
        "user": user,
        "guest": guest,
        "ts": ts.isoformat(),
    }
    if message_id is not None:
        frame["id"] = message_id
    if edited_at is not None:
        frame["edited_at"] = edited_at.isoformat()
    if deleted:
        frame["deleted"] = True
    if reply_to is not None:
        frame["reply_to"] = reply_to
    return frame


def reply_excerpt(*, message_id, user, text, deleted):
    """What a reply shows of the message it answers, as that message stands now: its
    first REPLY_EXCERPT_LENGTH characters, or none and "deleted" once it was deleted."""
    excerpt = {
        "id": message_id,
        "user": user,
        "message": "" if deleted else text[:REPLY_EXCERPT_LENGTH],
    }
    if deleted:
        excerpt["deleted"] = True
    return excerpt


def chat_edit(message_id, text, edited_at):
    """The message ``message_id`` now reads ``text``."""
    return {
        "type": CHAT_EDIT,
        "id": message_id,
        "message": text,
        "edited_at": edited_at.isoformat(),
    }


def chat_delete(message_id):
    """The message ``message_id`` was deleted."""
    return {"type": CHAT_DELETE, "id": message_id}


def chat_read(room, message_id):
    """The user has read the room up to the message ``message_id``, in one of their tabs."""
    return {"type": CHAT_READ, "room": room, "id": message_id}


def chat_history(messages, *, more, recovered=None, changes=None):
    """A page of messages. An answer to chat.resume says whether it ``recovered`` all that
    the client missed, or the history it asked from is gone and the client must reload;
    and, if asked, the ``changes`` (edits and deletions) to messages the client had."""
    frame = {"type": CHAT_HISTORY, "messages": messages, "more": more}
    if recovered is not None:
        frame["recovered"] = recovered
    if changes is not None:
        frame["changes"] = changes
    return frame


def reconnect(after):
    """This server process is going away: reconnect in ``after`` seconds."""
    return {"type": RECONNECT, "after": round(after, 3)}


# A mention is "@username" as a word: after the start of the text or a character that is
# neither a word character nor "@" (so not inside an e-mail address), and before the end or
# a character that is no word character (so not the start of a longer name); in any case
# (re.IGNORECASE, the "i" flag). One pattern for the server and the browser client, which
# differ only in how they name word characters; mentioned_names() finds the same names.
MENTION_TEMPLATE = r"(^|[^{word}@])@{name}([^{word}]|$)"
# Python's re: \w, a letter, a digit or the underscore, of any script.
MENTION_WORD = r"\w"
# JavaScript's, with the "u" flag: the same characters, named.
MENTION_WORD_JAVASCRIPT = r"\p{L}\p{N}_"
# What stands for itself in a name only once escaped, in all three. JavaScript's "u" flag
# refuses any other escape, so nothing more is escaped.
MENTION_SPECIAL = re.compile(r"[\\^$.*+?()\[\]{}|]")


def mention_pattern(username, *, for_javascript=False):
    """The regular expression that finds a mention of ``username`` ("@username" as a word),
    case aside: for the databases and Python's re, or, ``for_javascript``, for a JavaScript
    RegExp with the flags "iu"."""
    word = MENTION_WORD_JAVASCRIPT if for_javascript else MENTION_WORD
    name = MENTION_SPECIAL.sub(lambda special: "\\" + special.group(), username)
    return MENTION_TEMPLATE.format(word=word, name=name)


# Where a mention may start, and the characters a username may hold (Django's usernames:
# word characters and @.+-).
MENTION_START = re.compile(r"(?<![\w@])@")
USERNAME_CHARACTERS = re.compile(r"[\w.@+-]+")
WORD_CHARACTER = re.compile(r"\w")
# Bounds on the work one message asks of mentioned_names(): a message may mention this
# many names at most, each no longer than a username may be.
MAX_MENTION_STARTS = 100
MAX_USERNAME_LENGTH = 150


def mentioned_names(text):
    """Every name, lowercased, that ``text`` mentions as mention_pattern() finds them: the
    usernames among them are the users mentioned."""
    names = set()
    for start in itertools.islice(MENTION_START.finditer(text), MAX_MENTION_STARTS):
        run = USERNAME_CHARACTERS.match(text, start.end(), start.end() + MAX_USERNAME_LENGTH + 1)
        if run is None:
            continue
        run = run.group()
        for end in range(1, min(len(run), MAX_USERNAME_LENGTH) + 1):
            if end == len(run) or not WORD_CHARACTER.match(run[end]):
                names.add(run[:end].lower())
    return names


def client_constants(
    *,
    max_message_length,
    frames_per_second,
    frame_burst,
    keeps_history,
    guest_prefix,
    deletes_any,
    mentioned_as=None,
):
    """What the browser client needs to know of the protocol, handed to it by the page; and
    the name its user is mentioned by (``mentioned_as``), if any: guests are not."""
    return {
        "types": {
            "message": CHAT_MESSAGE,
            "history": CHAT_HISTORY,
            "resume": CHAT_RESUME,
            "edit": CHAT_EDIT,
            "delete": CHAT_DELETE,
            "read": CHAT_READ,
            "typing": TYPING,
            "presence": PRESENCE,
            "reconnect": RECONNECT,
            "error": ERROR,
        },
        "errors": {code: code for code in sorted(ERROR_CODES)},
        "close": {name: code for code, name in CLOSE_CODES.items()},
        "limits": {
            "max_message_length": max_message_length,
            "max_client_id_length": MAX_CLIENT_ID_LENGTH,
            # The flood limit, which the client paces its frames to (typing notices are
            # not counted).
            "frames_per_second": frames_per_second,
            "frame_burst": frame_burst,
        },
        "keeps_history": keeps_history,
        # Names in presence lists that start so are guests'.
        "guest_prefix": guest_prefix,
        # Whether this page's user may delete others' messages, not only their own.
        "deletes_any": deletes_any,
        # What finds a mention of this page's user in a message: a RegExp's source, for
        # the flags "iu"; null where there is no one to mention.
        "mention": (
            None if mentioned_as is None else mention_pattern(mentioned_as, for_javascript=True)
        ),
    }


# -- What clients send ---------------------------------------------------------------------


def parse_client_frame(text_data, *, max_message_length):
    """Return the client's frame as a dict with a known "type", or raise ChatError.

    A frame without "type" is a chat message, as in the Channels tutorial. Any frame may
    carry a "client_id", which the server echoes in its answer (the broadcast of a
    message, the history page asked for, or an error frame).
    """
    try:
        frame = json.loads(text_data)
    except (ValueError, RecursionError):
        # ValueError covers malformed JSON and oversized integers; RecursionError, JSON
        # nested too deeply to parse.
        raise ChatError(INVALID_JSON, _("Frames must be JSON text.")) from None
    if not isinstance(frame, dict):
        raise ChatError(INVALID_FRAME, _("Frames must be JSON objects."))
    client_id = validate_client_id(frame["client_id"]) if "client_id" in frame else None
    frame_type = frame.get("type", CHAT_MESSAGE)
    read_fields = CLIENT_FRAMES.get(frame_type) if isinstance(frame_type, str) else None
    if read_fields is None:
        raise ChatError(
            UNKNOWN_TYPE,
            _("Unknown frame type: %(type)s.") % {"type": repr(str(frame_type)[:100])},
            client_id,
        )
    try:
        parsed = {"type": frame_type, **read_fields(frame, max_message_length)}
    except ChatError as exc:
        exc.client_id = client_id
        raise
    if client_id is not None:
        parsed["client_id"] = client_id
    return parsed


def validate_client_id(client_id):
    """The sender's own id for a frame, echoed in the server's answer to it."""
    if (
        not isinstance(client_id, str)
        or not 1 <= len(client_id) <= MAX_CLIENT_ID_LENGTH
        or not client_id.isprintable()
    ):
        raise ChatError(
            INVALID_FRAME,
            _('"client_id" must be a string of 1 to %(max)d printable characters.')
            % {"max": MAX_CLIENT_ID_LENGTH},
        )
    return client_id


def validate_message_text(text, *, max_length):
    if not isinstance(text, str):
        raise ChatError(INVALID_MESSAGE, _('"message" must be a string.'))
    if not text.strip():
        raise ChatError(INVALID_MESSAGE, _('"message" cannot be empty.'))
    if len(text) > max_length:
        raise ChatError(
            MESSAGE_TOO_LONG,
            _("Messages can be at most %(max)d characters long.") % {"max": max_length},
        )
    if FORBIDDEN_CHARACTERS.search(text):
        raise ChatError(
            INVALID_MESSAGE, _('"message" cannot contain control characters or lone surrogates.')
        )
    return text


def validate_limit(limit):
    """A page size the client asks for, or None for the server's; the server caps it."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ChatError(INVALID_FRAME, _('"limit" must be a whole number >= 1.'))
    return limit


def validate_message_id(value, field):
    # bool is an int in Python, but true is no message id.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MESSAGE_ID:
        raise ChatError(
            INVALID_FRAME,
            _('"%(field)s" must be a message id: a whole number >= 0.') % {"field": field},
        )
    return value


def _chat_message_fields(frame, max_message_length):
    fields = {"message": validate_message_text(frame.get("message"), max_length=max_message_length)}
    # An answer to the message of this id, in the same room; null or absent for none.
    if frame.get("reply_to") is not None:
        fields["reply_to"] = validate_message_id(frame["reply_to"], "reply_to")
    return fields


def _typing_fields(frame, max_message_length):
    return {}


def _history_fields(frame, max_message_length):
    return {
        "before": validate_message_id(frame.get("before"), "before"),
        "limit": validate_limit(frame.get("limit")),
    }


def _resume_fields(frame, max_message_length):
    fields = {"after": validate_message_id(frame.get("after"), "after")}
    if "changed_since" in frame:
        fields["changed_since"] = validate_time(frame["changed_since"], "changed_since")
    return fields


def validate_time(value, field):
    """An ISO 8601 time with its offset from UTC, as the server sends them."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise ChatError(
            INVALID_FRAME,
            _('"%(field)s" must be a time in ISO 8601, with its offset from UTC.')
            % {"field": field},
        )
    return moment


def _edit_fields(frame, max_message_length):
    return {
        "id": validate_message_id(frame.get("id"), "id"),
        "message": validate_message_text(frame.get("message"), max_length=max_message_length),
    }


def _delete_fields(frame, max_message_length):
    return {"id": validate_message_id(frame.get("id"), "id")}


def _read_fields(frame, max_message_length):
    return {"id": validate_message_id(frame.get("id"), "id")}


def handler_name(frame_type):
    """The consumer method that handles a frame of ``frame_type`` (a key of CLIENT_FRAMES):
    "chat.message" is handled by on_chat_message."""
    return "on_" + frame_type.replace(".", "_")


# Each frame type a client may send, and what reads its fields; the consumer handles each
# in the method handler_name gives.
CLIENT_FRAMES = {
    CHAT_MESSAGE: _chat_message_fields,
    TYPING: _typing_fields,
    CHAT_HISTORY: _history_fields,
    CHAT_RESUME: _resume_fields,
    CHAT_EDIT: _edit_fields,
    CHAT_DELETE: _delete_fields,
    CHAT_READ: _read_fields,
}
