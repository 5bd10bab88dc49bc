"""The HTTP API for integrations and bots: rooms, their history, and posting to them.

Built on django-ninja, which validates requests from type hints and publishes the
OpenAPI schema (/api/openapi.json) and its documentation page (/api/docs) from the same
code. Its async views run on the server's event loop beside the sockets, so a message
posted here reaches the room the way a socket's does (chat.posting). Every request is
authenticated by an API token of a user (chat.api_tokens), with that user's rights and
flood limit: the budget of their sockets.
"""

import math

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from chat import api_tokens, history, posting, protocol, ratelimit
from chat.rooms import InvalidRoomName, normalize_room_name


class ApiError(Exception):
    """An error answer, with the codes of the socket's error frames (chat.protocol)."""

    def __init__(self, status, code, detail, **extra):
        super().__init__(detail)
        self.status = status
        self.body = {"code": code, "detail": detail, **extra}


async def within_flood_limit(key):
    """Count a request against the flood limit of ``key`` (chat.ratelimit); refuse it
    with 429 and Retry-After when over."""
    retry_after = await ratelimit.flood_limit_for(get_channel_layer()).take(
        key, rate=settings.CHAT_RATE_LIMIT_PER_SECOND, burst=settings.CHAT_RATE_LIMIT_BURST
    )
    if retry_after:
        frame = protocol.rate_limited(retry_after)
        raise ApiError(429, frame["code"], frame["detail"], retry_after=frame["retry_after"])


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <key>`, the key of a token of an active user. Every request
    counts against its user's flood limit; a wrong key, against its address's."""

    async def authenticate(self, request, token):
        user = await database_sync_to_async(api_tokens.user_for)(token)
        if user is None:
            await within_flood_limit(f"address:{request.META.get('REMOTE_ADDR', 'unknown')}")
            return None
        await within_flood_limit(ratelimit.user_key(user))
        return user


api = NinjaAPI(
    title=f"{settings.SITE_NAME} API",
    version="1",
    description="Rooms, their history, and posting to them as a user of the chat.",
    auth=TokenAuth(),
    urls_namespace="api",
)


@api.exception_handler(ApiError)
def api_error(request, exc):
    response = api.create_response(request, exc.body, status=exc.status)
    if "retry_after" in exc.body:
        response["Retry-After"] = str(math.ceil(exc.body["retry_after"]))
    return response


@api.exception_handler(protocol.ProtocolError)
def protocol_error(request, exc):
    return api.create_response(request, {"code": exc.code, "detail": exc.detail}, status=400)


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    response = api.create_response(
        request,
        {"code": "unauthorized", "detail": _("Send an API token: Authorization: Bearer <key>.")},
        status=401,
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def http_error(request, exc):
    # ninja's own refusals: a body that is not JSON, above all.
    code = protocol.INVALID_JSON if exc.status_code == 400 else protocol.INVALID_FRAME
    return api.create_response(request, {"code": code, "detail": str(exc)}, status=exc.status_code)


@api.exception_handler(ValidationError)
def invalid_request(request, exc):
    # In the socket's terms: a bad "message" is invalid_message, anything else
    # invalid_frame.
    first = exc.errors[0]
    code = protocol.INVALID_MESSAGE if "message" in first["loc"] else protocol.INVALID_FRAME
    where = ".".join(str(part) for part in first["loc"][1:])
    return api.create_response(
        request, {"code": code, "detail": f"{where}: {first['msg']}"}, status=400
    )


def room_named(name):
    try:
        return normalize_room_name(name)
    except InvalidRoomName as exc:
        raise ApiError(404, protocol.INVALID_ROOM, str(exc)) from None


class Room(Schema):
    name: str


class Rooms(Schema):
    rooms: list[Room]


class Message(Schema):
    """A message, as sockets receive it (a chat.message frame)."""

    type: str
    id: int
    message: str
    user: str
    guest: bool
    ts: str
    edited_at: str | None = None
    deleted: bool | None = None
    client_id: str | None = None


class HistoryPage(Schema):
    """A page of history, oldest first, as sockets receive it (a chat.history frame)."""

    type: str
    messages: list[Message]
    more: bool


class MessageIn(Schema):
    message: str
    client_id: str | None = None


class Error(Schema):
    code: str
    detail: str
    retry_after: float | None = None


ERRORS = {400: Error, 401: Error, 404: Error, 429: Error, 503: Error}


@api.get(
    "/rooms/",
    response={200: Rooms, **ERRORS},
    summary="The rooms with recent messages",
)
async def list_rooms(request):
    """The rooms the lobby lists: those with the most recent messages, most recent
    first, at most CHAT_LOBBY_ROOMS of them."""
    rooms = await database_sync_to_async(history.active_rooms)()
    return {"rooms": [{"name": name} for name in rooms]}


@api.get(
    "/rooms/{path:room}/messages/",
    response={200: HistoryPage, **ERRORS},
    exclude_none=True,
    summary="A page of a room's history",
)
async def list_messages(request, room: str, before: int | None = None, limit: int | None = None):
    """The room's last messages, or those before the message id `before`, oldest first;
    `more` says whether older ones exist. Pages hold at most CHAT_HISTORY_LENGTH
    messages, or `limit`."""
    room = room_named(room)
    if before is not None:
        protocol.validate_message_id(before, "before")
    limit = protocol.validate_limit(limit)
    try:
        return await history.history_frame(room, before_id=before, limit=limit)
    except history.UNAVAILABLE:
        raise ApiError(
            503, protocol.HISTORY_UNAVAILABLE, _("History could not be read. Please ask again.")
        ) from None


@api.post(
    "/rooms/{path:room}/messages/",
    response={200: Message, 201: Message, **ERRORS},
    exclude_none=True,
    summary="Post a message to a room",
)
async def post_message(request, room: str, body: MessageIn):
    """Post a message as the token's user: every socket in the room receives it. Posted
    again with the same `client_id`, it is the message already posted (200), not a
    second one (201)."""
    room = room_named(room)
    text = protocol.validate_message_text(body.message, max_length=settings.CHAT_MAX_MESSAGE_LENGTH)
    client_id = None if body.client_id is None else protocol.validate_client_id(body.client_id)
    try:
        message, new = await posting.post_message(
            get_channel_layer(),
            room=room,
            user=request.auth,
            display_name=request.auth.get_username(),
            text=text,
            client_id=client_id,
        )
    except history.UNAVAILABLE:
        raise ApiError(
            503, protocol.NOT_SAVED, _("Your message could not be saved. Please send it again.")
        ) from None
    return Status(201 if new else 200, message)
