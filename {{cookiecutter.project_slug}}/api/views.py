"""The HTTP API for integrations and bots: rooms, their history, and posting to them.

Built on django-ninja, which validates requests from type hints and publishes the
OpenAPI schema (/api/openapi.json) and its documentation page (/api/docs) from the same
code. Its async views run on the server's event loop beside the sockets, so a message
posted here reaches the room the way a socket's does (chat.posting). Every request is
authenticated by an API token of a user (api.tokens), with that user's rights and
flood limit: the budget of their sockets.
"""

import logging
import math

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from api import tokens
from chat import posting, protocol
from chat.limits import flood
from chat.outages import LAYER_OUTAGES
from chat.room_names import InvalidRoomName, normalize_room_name
from rooms import history, membership

logger = logging.getLogger(__name__)

# Seconds a client told the chat is unavailable waits before it asks again.
UNAVAILABLE_RETRY_AFTER = 5


class ApiError(Exception):
    """An error answer, with the codes of the socket's error frames (chat.protocol)."""

    def __init__(self, status, code, detail, **extra):
        super().__init__(detail)
        self.status = status
        self.body = {"code": code, "detail": detail, **extra}


async def within_flood_limit(key):
    """Count a request against the flood limit of ``key`` (chat.limits.flood); refuse it
    with 429 and Retry-After when over."""
    retry_after = await flood.flood_limit_for(get_channel_layer()).take(
        key, rate=settings.CHAT_RATE_LIMIT_PER_SECOND, burst=settings.CHAT_RATE_LIMIT_BURST
    )
    if retry_after:
        frame = protocol.rate_limited(retry_after)
        raise ApiError(429, frame["code"], frame["detail"], retry_after=frame["retry_after"])


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <key>`, the key of a token of an active user. Every request
    counts against its user's flood limit; a wrong key, against its address's."""

    async def authenticate(self, request, token):
        user = await database_sync_to_async(tokens.user_for)(token)
        if user is None:
            await within_flood_limit(f"address:{request.META.get('REMOTE_ADDR', 'unknown')}")
            return None
        await within_flood_limit(flood.user_key(user))
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


# The HTTP status of each refusal of the chat's rules; any other is 400.
REFUSAL_STATUS = {
    # For who the caller is, rather than for what they sent.
    protocol.FORBIDDEN: 403,
    protocol.MUTED: 403,
    protocol.NOT_FOUND: 404,
    protocol.INVALID_ROOM: 404,
    protocol.ROOM_TAKEN: 409,
}


@api.exception_handler(protocol.ChatError)
def refused(request, exc):
    body = protocol.refusal(exc)
    del body["type"]
    response = api.create_response(request, body, status=REFUSAL_STATUS.get(exc.code, 400))
    if "retry_after" in body:
        response["Retry-After"] = str(math.ceil(body["retry_after"]))
    return response


def unavailable(request, exc):
    # The database or Redis failed a request outside what the views answer themselves
    # (the token's check, the flood limit, a room's members): JSON, as every answer here.
    logger.warning("The API could not answer: %s", exc, exc_info=True)
    response = api.create_response(
        request,
        {
            "code": protocol.UNAVAILABLE,
            "detail": _("The chat is unavailable for a moment. Try again in a few seconds."),
        },
        status=503,
    )
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response


for outage in (DatabaseError, *LAYER_OUTAGES):
    api.add_exception_handler(outage, unavailable)


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


async def room_for(user, name):
    """The room ``name``, if ``user`` may open it; 403 forbidden if it is private and they
    are not a member, as a socket is closed with 4403."""
    room = room_named(name)
    try:
        await database_sync_to_async(membership.seat)(user, room)
    except membership.NotAMember:
        raise ApiError(403, protocol.FORBIDDEN, membership.refusal()) from None
    return room


class Room(Schema):
    name: str
    # What the caller calls it: a direct conversation is named after the other user.
    title: str
    private: bool
    direct: bool
    # Private rooms and direct conversations: messages after the caller's read marker,
    # not their own, and those of them that mention the caller.
    unread: int | None = None
    mentions: int | None = None


class NewRoom(Schema):
    name: str
    private: bool = True
    members: list[str] = []


class Rooms(Schema):
    rooms: list[Room]
    # Where more of the caller's private rooms follow: GET /api/rooms/?after=<next>.
    # Absent from the last page.
    next: str | None = None


class Answered(Schema):
    """What a reply shows of the message it answers, as that message stands now."""

    id: int
    user: str
    # Its first 140 characters; empty once it was deleted.
    message: str
    deleted: bool | None = None


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
    reply_to: Answered | None = None


class HistoryPage(Schema):
    """A page of history, oldest first, as sockets receive it (a chat.history frame)."""

    type: str
    messages: list[Message]
    more: bool


class MessageIn(Schema):
    message: str
    client_id: str | None = None
    # The id of the message of the room this one answers.
    reply_to: int | None = None


class Error(Schema):
    code: str
    detail: str
    retry_after: float | None = None


ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 429: Error, 503: Error}


@api.get(
    "/rooms/",
    response={200: Rooms, **ERRORS},
    exclude_none=True,
    summary="The rooms the caller can see",
)
async def list_rooms(request, after: str | None = None):
    """The caller's private rooms and direct conversations, with their unread counts, most
    recent first, 50 a page: `next`, where more follow, is what to pass as `after` for the
    next page. The first page ends with the public rooms the lobby lists (those with the
    most recent messages, at most CHAT_LOBBY_ROOMS of them)."""
    conversations, next_page = await database_sync_to_async(membership.conversations)(
        request.auth, after=after
    )
    public = [] if after is not None else await database_sync_to_async(history.active_rooms)()
    return {
        "next": next_page,
        "rooms": [
            {
                "name": room["name"],
                "title": room["title"],
                "private": True,
                "direct": room["direct"],
                "unread": room["unread"],
                "mentions": room["mentions"],
            }
            for room in conversations
        ]
        + [{"name": name, "title": name, "private": False, "direct": False} for name in public],
    }


@api.post(
    "/rooms/",
    response={201: Room, 409: Error, **ERRORS},
    exclude_none=True,
    summary="Make a room",
)
async def create_room(request, body: NewRoom):
    """Make a private room owned by the caller, with the members named (usernames). A
    public room needs no making: anyone may open any free name, and this only checks
    the name. 409 room_taken if a room of that name exists already."""
    if not body.private:
        name = room_named(body.name)
        await database_sync_to_async(membership.check_public_name)(name)
        return Status(201, {"name": name, "title": name, "private": False, "direct": False})
    room = await database_sync_to_async(membership.create_private_room)(
        request.auth, body.name, body.members
    )
    made = {"name": room.name, "title": room.name, "private": True, "direct": False}
    return Status(201, {**made, "unread": 0, "mentions": 0})


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
    room = await room_for(request.auth, room)
    if before is not None:
        protocol.validate_message_id(before, "before")
    limit = protocol.validate_limit(limit)
    try:
        return await history.history_frame(room, before_id=before, limit=limit)
    except history.OUTAGES:
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
    room = await room_for(request.auth, room)
    text = protocol.validate_message_text(body.message, max_length=settings.CHAT_MAX_MESSAGE_LENGTH)
    client_id = None if body.client_id is None else protocol.validate_client_id(body.client_id)
    reply_to = (
        None if body.reply_to is None else protocol.validate_message_id(body.reply_to, "reply_to")
    )
    try:
        message, new = await posting.post_message(
            get_channel_layer(),
            room=room,
            user=request.auth,
            display_name=request.auth.get_username(),
            text=text,
            client_id=client_id,
            reply_to=reply_to,
        )
    except history.OUTAGES:
        raise ApiError(
            503, protocol.NOT_SAVED, _("Your message could not be saved. Please send it again.")
        ) from None
    return Status(201 if new else 200, message)
