"""The wire protocol between clients and the chat consumer: frame shapes, error codes,
close codes, and validation of what clients send. The README documents it for client
authors; keep the two in step.
"""

import json
import re

# Close codes (4000-4999 are for applications; browsers show them to the client's code).
CLOSE_INVALID_ROOM = 4400
CLOSE_LOGIN_REQUIRED = 4401
CLOSE_TOO_MANY_MESSAGES = 4429
{%- if cookiecutter.channel_layer == "redis" %}
# The channel layer (Redis) cannot be reached: reconnect later. (Daphne lets applications
# send only 1000 and 3000-4999, so not the standard 1013.)
CLOSE_TRY_AGAIN_LATER = 4503
{%- endif %}

# Error codes sent in {"type": "error"} frames. The socket stays open after each, but for
# invalid_room{% if cookiecutter.channel_layer == "redis" %} and unavailable{% endif %}, sent just before a close.
BINARY_NOT_SUPPORTED = "binary_not_supported"
INVALID_JSON = "invalid_json"
INVALID_FRAME = "invalid_frame"
UNKNOWN_TYPE = "unknown_type"
INVALID_MESSAGE = "invalid_message"
MESSAGE_TOO_LONG = "message_too_long"
INVALID_ROOM = "invalid_room"
{%- if cookiecutter.persist_messages %}
NOT_SAVED = "not_saved"
HISTORY_UNAVAILABLE = "history_unavailable"
{%- endif %}
RATE_LIMITED = "rate_limited"
{%- if cookiecutter.channel_layer == "redis" %}
UNAVAILABLE = "unavailable"
{%- endif %}

CHAT_MESSAGE = "chat.message"
CHAT_HISTORY = "chat.history"
TYPING = "typing"
PRESENCE = "presence"
{%- if cookiecutter.persist_messages %}
CHAT_RESUME = "chat.resume"
{%- endif %}
ERROR = "error"

MAX_CLIENT_ID_LENGTH = 64
# Presence frames list this many names at most, and count them all.
MAX_PRESENCE_LISTED = 100

# Message ids are PostgreSQL bigints and SQLite integers.
MAX_MESSAGE_ID = 2**63 - 1

# Control characters other than tab, newline and carriage return, and lone surrogates
# (JSON can spell one as "\ud800"; UTF-8 cannot encode it). PostgreSQL cannot store NUL.
FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class ProtocolError(Exception):
    def __init__(self, code, detail):
        super().__init__(detail)
        self.code = code
        self.detail = detail


def encode(frame):
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def error(code, detail):
    return {"type": ERROR, "code": code, "detail": detail}


def rate_limited(retry_after):
    return {
        **error(RATE_LIMITED, "You are sending messages too fast; this one was not sent."),
        "retry_after": round(retry_after, 3),
    }


def typing(user):
    return {"type": TYPING, "user": user}


def presence(online, *, joined=None, left=None):
    """Who is online, from a {display name: socket count} mapping; and who just came or
    went, when someone did."""
    users = sorted(online, key=str.casefold)
    frame = {"type": PRESENCE, "users": users[:MAX_PRESENCE_LISTED], "count": len(users)}
    if joined:
        frame["joined"] = joined
    if left:
        frame["left"] = left
    return frame


def chat_message(*, text, user, ts, message_id=None):
    frame = {"type": CHAT_MESSAGE, "message": text, "user": user, "ts": ts.isoformat()}
    if message_id is not None:
        frame["id"] = message_id
    return frame


def chat_history(messages):
    return {"type": CHAT_HISTORY, "messages": messages}


def parse_client_frame(text_data, *, max_message_length):
    """Return the client's frame as a dict with a known "type", or raise ProtocolError.

    A frame without "type" is a chat message, as in the Channels tutorial.
    """
    try:
        frame = json.loads(text_data)
    except (ValueError, RecursionError):
        # ValueError covers malformed JSON and oversized integers; RecursionError, JSON
        # nested too deeply to parse.
        raise ProtocolError(INVALID_JSON, "Frames must be JSON text.") from None
    if not isinstance(frame, dict):
        raise ProtocolError(INVALID_FRAME, "Frames must be JSON objects.")
    frame_type = frame.get("type", CHAT_MESSAGE)
    if frame_type == TYPING:
        return {"type": TYPING}
    if frame_type == CHAT_MESSAGE:
        text = validate_message_text(frame.get("message"), max_length=max_message_length)
        message = {"type": CHAT_MESSAGE, "message": text}
        if "client_id" in frame:
            message["client_id"] = validate_client_id(frame["client_id"])
        return message
{%- if cookiecutter.persist_messages %}
    if frame_type == CHAT_RESUME:
        return {"type": CHAT_RESUME, "after": validate_message_id(frame.get("after"), "after")}
    if frame_type == CHAT_HISTORY:
        return {
            "type": CHAT_HISTORY,
            "before": validate_message_id(frame.get("before"), "before"),
            "limit": validate_limit(frame.get("limit")),
        }
{%- endif %}
    raise ProtocolError(UNKNOWN_TYPE, f"Unknown frame type: {str(frame_type)[:100]!r}.")


def validate_client_id(client_id):
    """The sender's own id for a message, echoed in its broadcast so that the sender can
    match it to the message it is showing as pending."""
    if (
        not isinstance(client_id, str)
        or not 1 <= len(client_id) <= MAX_CLIENT_ID_LENGTH
        or not client_id.isprintable()
    ):
        raise ProtocolError(
            INVALID_FRAME,
            f'"client_id" must be a string of 1 to {MAX_CLIENT_ID_LENGTH} printable characters.',
        )
    return client_id


def validate_message_text(text, *, max_length):
    if not isinstance(text, str):
        raise ProtocolError(INVALID_MESSAGE, '"message" must be a string.')
    if not text.strip():
        raise ProtocolError(INVALID_MESSAGE, '"message" cannot be empty.')
    if len(text) > max_length:
        raise ProtocolError(
            MESSAGE_TOO_LONG, f"Messages can be at most {max_length} characters long."
        )
    if FORBIDDEN_CHARACTERS.search(text):
        raise ProtocolError(
            INVALID_MESSAGE, '"message" cannot contain control characters or lone surrogates.'
        )
    return text
{%- if cookiecutter.persist_messages %}


def validate_limit(limit):
    """A page size the client asks for, or None for the server's; the server caps it."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ProtocolError(INVALID_FRAME, '"limit" must be a whole number >= 1.')
    return limit


def validate_message_id(value, field):
    # bool is an int in Python, but true is no message id.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MESSAGE_ID:
        raise ProtocolError(INVALID_FRAME, f'"{field}" must be a message id: a whole number >= 0.')
    return value
{%- endif %}
