"""Pages of private rooms (rooms.membership): making one, its members and their
moderation, invite links, and direct conversations."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chat import protocol
from rooms import membership
from rooms.models import Membership, ModerationAction, Room

# What a moderator may mute a member for, in minutes, as the members page offers it.
MUTE_CHOICES = [10, 60, 24 * 60]


def usernames(text):
    """The usernames of a comma- or space-separated list, without "@"."""
    return [name.lstrip("@") for name in text.replace(",", " ").split() if name.lstrip("@")]


@login_required
@require_POST
def create_room(request):
    try:
        room = membership.create_private_room(
            request.user,
            request.POST.get("name", "").strip(),
            usernames(request.POST.get("members", "")),
        )
    except protocol.ChatError as exc:
        messages.error(request, exc.detail)
        return redirect("chat:lobby")
    return redirect("chat:room", room=room.name)


def room_of_member(request, name):
    """The private room ``name`` and the user's membership of it; 404 for anyone else, so
    that its members are not shown to them."""
    room = Room.objects.filter(name=name).first()
    try:
        seat = room and membership.seat(request.user, name)
    except membership.NotAMember:
        seat = None
    if room is None or seat is None:
        raise Http404(_("There is no private room of this name that you are a member of."))
    return room, seat


@login_required
def members(request, room):
    room, seat = room_of_member(request, room)
    invite_link = None
    if request.method == "POST":
        try:
            invite_link = act(request, room)
        except protocol.ChatError as exc:
            messages.error(request, exc.detail)
        except ValidationError as exc:
            # A choice the form does not offer: a hand-made request.
            messages.error(request, exc.message)
        if invite_link is None:
            if not Room.objects.filter(pk=room.pk, memberships__user=request.user).exists():
                return redirect("chat:lobby")  # they left
            return redirect("private:members", room=room.name)
    everyone = membership.members(room)
    context = {
        "room": room,
        "title": membership.title(room, request.user),
        "seat": seat,
        "members": [
            {"seat": other, "manageable": membership.may_manage(seat, other)} for other in everyone
        ],
        "is_owner": seat.role == membership.OWNER and not room.pair,
        "roles": Membership.ROLES,
        "mute_choices": MUTE_CHOICES,
        "invite_link": invite_link,
        "now": timezone.now(),
        "log": ModerationAction.objects.filter(room=room).select_related("actor", "target")[:20]
        if seat.role in membership.MODERATING
        else [],
    }
    return render(request, "rooms/members.html", context)


def act(request, room):
    """Carry out the members page's form; return the new invite link, if one was made."""
    action = request.POST.get("action")
    username = request.POST.get("username", "").strip().lstrip("@")
    if action == "invite":
        names = usernames(username)
        membership.users_named(names)  # all known, or none invited
        for name in names:
            membership.invite(request.user, room, name)
        messages.success(request, _("Invited."))
    elif action == "unban":
        membership.invite(request.user, room, username)
        messages.success(request, _("%(name)s can come back.") % {"name": username})
    elif action == "role":
        membership.set_role(request.user, room, username, request.POST.get("role", ""))
        messages.success(request, _("Saved."))
    elif action == "mute":
        minutes = request.POST.get("minutes", "")
        if minutes not in {str(choice) for choice in MUTE_CHOICES}:
            raise ValidationError(_("Choose how long."))
        membership.mute(request.user, room, username, int(minutes) * 60)
        messages.success(request, _("%(name)s is muted.") % {"name": username})
    elif action == "unmute":
        membership.mute(request.user, room, username, 0)
        messages.success(request, _("%(name)s can write again.") % {"name": username})
    elif action in {"remove", "ban"}:
        membership.remove(request.user, room, username, ban=action == "ban")
        messages.success(request, _("%(name)s has left the room.") % {"name": username})
    elif action == "leave":
        membership.leave(request.user, room)
        messages.success(request, _("You have left %(room)s.") % {"room": room.name})
    elif action == "link":
        key = membership.make_invite_link_key(request.user, room)
        return request.build_absolute_uri(reverse("private:invite", args=[key]))
    elif action == "revoke_link":
        membership.revoke_invite_link(request.user, room)
        messages.success(request, _("The invite link no longer works."))
    else:
        raise ValidationError(_("Unknown action."))
    return None


@login_required
def join_by_link(request, key):
    room = membership.room_invited_to(key)
    if room is None:
        raise Http404(_("This invite link does not work: it was revoked, or mistyped."))
    if request.method == "POST":
        try:
            membership.join_by_link(request.user, room)
        except protocol.ChatError as exc:
            messages.error(request, exc.detail)
            return redirect("chat:lobby")
        return redirect("chat:room", room=room.name)
    return render(request, "rooms/invite.html", {"room": room})


@login_required
def direct(request, username):
    """The direct conversation with ``username``: opened if it exists, else offered, and
    made on the person's click (a POST, so that no link elsewhere can make one)."""
    other = get_object_or_404(get_user_model(), username=username, is_active=True)
    if other.pk == request.user.pk:
        return redirect("chat:lobby")
    existing = membership.existing_direct_room(request.user, other)
    if existing is None and request.method == "POST":
        existing = membership.direct_room(request.user, other)
    if existing is not None:
        return redirect("chat:room", room=existing.name)
    return render(request, "rooms/direct.html", {"other": other})
