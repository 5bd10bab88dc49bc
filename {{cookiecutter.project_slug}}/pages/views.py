from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render

from chat import identity, protocol
from chat.room_names import InvalidRoomName, normalize_room_name
from chat.rooms_backend import history, membership
from pages.client_texts import client_texts

# Rooms a browser session has opened, most recent first, that the room list shows.
RECENT_ROOMS_SESSION_KEY = "chat_recent_rooms"
RECENT_ROOMS = 10


def recent_rooms(session, opened=None):
    """The rooms this session opened last, most recent first; with ``opened`` first if
    given, which is then remembered."""
    rooms = session.get(RECENT_ROOMS_SESSION_KEY, [])
    if opened is not None and rooms[:1] != [opened]:
        rooms = [opened, *(name for name in rooms if name != opened)][:RECENT_ROOMS]
        session[RECENT_ROOMS_SESSION_KEY] = rooms
    return rooms


def active_rooms_besides(recent):
    """The lobby's active rooms, but those of ``recent``: each room is listed once, and
    those this browser opened are under their own heading."""
    return [name for name in history.active_rooms() if name not in recent]


def lobby(request):
    """The rooms: a form to open one by name, the user's conversations a page at a time
    (``?after=`` the cursor of the page before), the rooms this browser opened last and
    the public rooms with the latest messages."""
    error = None
    if "room" in request.GET:
        try:
            room = normalize_room_name(request.GET["room"].strip())
        except InvalidRoomName as exc:
            error = str(exc)
        else:
            return redirect("chat:room", room=room)
    after = request.GET.get("after")
    try:
        conversations, next_page = membership.conversations(request.user, after=after)
    except protocol.ChatError as exc:
        raise Http404(exc.detail) from None
    recent = recent_rooms(request.session)
    context = {
        "error": error,
        "active_rooms": active_rooms_besides(recent),
        "recent_rooms": recent,
        "keeps_members": membership.KEEPS_MEMBERS,
        "conversations": conversations,
        "later_page": after is not None,
        "next_page": next_page,
    }
    return render(request, "chat/lobby.html", context)


def room(request, room):
    try:
        room = normalize_room_name(room)
    except InvalidRoomName as exc:
        raise Http404(str(exc)) from exc
    if not request.user.is_authenticated and not settings.CHAT_ALLOW_ANONYMOUS:
        return redirect_to_login(request.get_full_path())
    try:
        seat = membership.seat(request.user, room)
    except membership.NotAMember:
        return render(request, "rooms/private.html", {"room": room}, status=403)
    conversations, more_conversations = membership.conversations(request.user)
    private = {conversation["name"] for conversation in conversations}
    recent = [name for name in recent_rooms(request.session, opened=room) if name not in private]
    context = {
        "room": room,
        "title": room if seat is None else membership.title(seat.room, request.user),
        "seat": seat,
        "more_conversations": more_conversations is not None,
        "conversations": conversations,
        # Names link to direct messages for those who may have them.
        "direct_messages": membership.KEEPS_MEMBERS and request.user.is_authenticated,
        "recent_rooms": recent,
        "active_rooms": active_rooms_besides(recent),
        "display_name": identity.display_name(request.user, request.session),
        "guest": identity.is_guest(request.user),
        # The protocol's names and limits, for the browser client (pages/static/chat/).
        "protocol": protocol.client_constants(
            max_message_length=settings.CHAT_MAX_MESSAGE_LENGTH,
            frames_per_second=settings.CHAT_RATE_LIMIT_PER_SECOND,
            frame_burst=settings.CHAT_RATE_LIMIT_BURST,
            keeps_history=history.KEEPS_HISTORY,
            guest_prefix=identity.GUEST_PREFIX,
            deletes_any=history.may_delete_any(request.user, room),
            # Messages that mention this user are highlighted; guests are not mentioned.
            mentioned_as=(
                None
                if identity.is_guest(request.user)
                else identity.display_name(request.user, request.session)
            ),
        ),
        "texts": client_texts(),
    }
    return render(request, "chat/room.html", context)
