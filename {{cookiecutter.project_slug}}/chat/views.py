from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from chat import history, identity, protocol
from chat.rooms import InvalidRoomName, normalize_room_name


def lobby(request):
    error = None
    if "room" in request.GET:
        try:
            room = normalize_room_name(request.GET["room"].strip())
        except InvalidRoomName as exc:
            error = str(exc)
        else:
            return redirect("chat:room", room=room)
    context = {"error": error, "active_rooms": history.active_rooms()}
    return render(request, "chat/lobby.html", context)


def room(request, room):
    try:
        room = normalize_room_name(room)
    except InvalidRoomName as exc:
        raise Http404(str(exc)) from exc
    if not request.user.is_authenticated and not settings.CHAT_ALLOW_ANONYMOUS:
        return redirect_to_login(request.get_full_path())
    context = {
        "room": room,
        "display_name": identity.display_name(request.user, request.session),
        # The protocol's names and limits, for the browser client (chat/static/chat/room.js).
        "protocol": protocol.client_constants(
            max_message_length=settings.CHAT_MAX_MESSAGE_LENGTH,
            keeps_history=history.KEEPS_HISTORY,
        ),
    }
    return render(request, "chat/room.html", context)


def signup(request):
    next_url = request.POST.get("next", request.GET.get("next", ""))
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.method == "POST":
        form = UserCreationForm(request.POST)
        if form.is_valid():
            login(request, form.save())
            return redirect(next_url or "chat:lobby")
    else:
        form = UserCreationForm()
    return render(request, "registration/signup.html", {"form": form, "next": next_url})
