"""Who may be in a room, and what they may do there.

A room is public unless it has a row in rooms.models.Room: anyone may open any other
name. A private room, or a direct conversation of two
users, is open to its members alone, each with a role: its owner invites members (by
username or with an invite link) and gives roles; moderators and the owner delete
anyone's message, mute members for a while, and remove or ban them. Every one of those
actions is recorded (ModerationAction) and shown in the admin.

A socket to a room its user may not be in is closed with 4403 before it joins anything
(chat.consumers); a member removed or banned has their sockets to the room closed the
same way, on every server process, through the room's group. A project that does not
save messages has, in this module's place, one with the same names where every room is
public.
"""

import contextlib
import hashlib
import logging
import re
import secrets
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import events, protocol
from chat.outages import LAYER_OUTAGES
from chat.room_names import PROBE_ROOM, InvalidRoomName, group_name, normalize_room_name
from rooms import counts
from rooms.models import Membership, Message, ModerationAction, Room

logger = logging.getLogger(__name__)

KEEPS_MEMBERS = True

OWNER, MODERATOR, MEMBER = Membership.OWNER, Membership.MODERATOR, Membership.MEMBER
ROLES = [OWNER, MODERATOR, MEMBER]
MODERATING = {OWNER, MODERATOR}

# Direct conversations are named after their two users' ids, "dm:3:7". The names are
# kept for them: nobody can open one as a public room before its pair does.
DIRECT_NAME = re.compile(r"dm:(\d+):(\d+)")
# The longest a moderator may mute a member for.
MAX_MUTE = timedelta(days=30)
# How long the cache may say a room is public before the database is asked again. A room
# made private says so in the cache at once.
PUBLIC_KNOWN_SECONDS = 300
# The most members one request may add: more is a job for an invite link.
MAX_ADDED_AT_ONCE = 50
# The prefix of an invite link's key, to tell one apart from other secrets.
INVITE_KEY_PREFIX = "inv_"
# Rooms in a page of a member's room list (conversations()).
ROOMS_PAGE = 50


class NotAMember(Exception):
    """The user may not open the room: it is private and they are not a member (or are
    banned from it)."""


def refusal():
    return _("This room is private: only its members can open it.")


def private_room(name):
    return Room.objects.filter(name=name).first()


def kind_key(room_name):
    return "chat:private:" + hashlib.sha256(room_name.encode()).hexdigest()


def is_private(room_name):
    """Whether the room ``room_name`` is private, from Django's cache where it can: every
    join and message asks, and most rooms are public, so that a public room costs no
    trip to the database. The database decides whenever the cache does not know."""
    if DIRECT_NAME.fullmatch(room_name):
        return True
    try:
        known = cache.get(kind_key(room_name))
    except LAYER_OUTAGES:
        known = None
    if known is None:
        known = Room.objects.filter(name=room_name).exists()
        # add, not set: a room made private since the database was read has said so
        # already, and must not be taken back for public.
        with contextlib.suppress(*LAYER_OUTAGES):
            cache.add(kind_key(room_name), known, None if known else PUBLIC_KNOWN_SECONDS)
    return known


def became_private(room_name):
    """Tell the cache that ``room_name`` is private now, for good."""
    with contextlib.suppress(*LAYER_OUTAGES):
        cache.set(kind_key(room_name), True, None)


def seat(user, room_name):
    """The user's membership of the room ``room_name``, or None if the room is public;
    NotAMember if they may not open it."""
    if not is_private(room_name):
        return None
    room = private_room(room_name)
    if room is None or not user.is_authenticated:
        raise NotAMember  # a direct conversation's name before its pair opened it
    membership = room.memberships.filter(user=user, banned=False).first()
    if membership is None:
        raise NotAMember
    return membership


def check_may_post(user, room_name):
    """Raise ChatError (forbidden, or muted with the seconds left) unless ``user`` may
    post to the room now; return their membership of it (None in a public room)."""
    try:
        membership = seat(user, room_name)
    except NotAMember:
        raise protocol.ChatError(protocol.FORBIDDEN, refusal()) from None
    if membership is not None and membership.muted_until:
        left = (membership.muted_until - timezone.now()).total_seconds()
        if left > 0:
            raise protocol.Muted(left)
    return membership


def moderates(user, room_name):
    """Whether ``user`` is an owner or moderator of the private room ``room_name``."""
    return (
        user.is_authenticated
        and Membership.objects.filter(
            room__name=room_name, user=user, banned=False, role__in=MODERATING
        ).exists()
    )


# -- Rooms ---------------------------------------------------------------------------------


def users_named(usernames):
    """The active users of ``usernames``; ChatError (not_found) naming any that is not one."""
    usernames = list(dict.fromkeys(usernames))
    if len(usernames) > MAX_ADDED_AT_ONCE:
        raise protocol.ChatError(
            protocol.INVALID_FRAME,
            _("Add at most %(max)d members at once.") % {"max": MAX_ADDED_AT_ONCE},
        )
    users = {
        user.get_username(): user
        for user in get_user_model().objects.filter(username__in=usernames, is_active=True)
    }
    unknown = [name for name in usernames if name not in users]
    if unknown:
        raise protocol.ChatError(
            protocol.NOT_FOUND, _("No such user: %(names)s.") % {"names": ", ".join(unknown)}
        )
    return [users[name] for name in usernames]


def check_not_kept_for_direct_messages(name):
    if DIRECT_NAME.fullmatch(name):
        raise protocol.ChatError(
            protocol.INVALID_ROOM, _("Names like this are kept for direct messages.")
        )


def room_taken():
    return protocol.ChatError(
        protocol.ROOM_TAKEN, _("A room of this name exists already. Choose another name.")
    )


def check_public_name(name):
    """ChatError unless ``name`` may be opened as a public room."""
    check_not_kept_for_direct_messages(name)
    if private_room(name) is not None:
        raise room_taken()


def create_private_room(owner, name, member_usernames=()):
    """Make the private room ``name`` owned by ``owner``, with the members named; return
    it. ChatError if the name is not valid or already used, publicly or privately."""
    try:
        name = normalize_room_name(name)
    except InvalidRoomName as exc:
        raise protocol.ChatError(protocol.INVALID_ROOM, str(exc)) from None
    check_not_kept_for_direct_messages(name)
    members = [user for user in users_named(member_usernames) if user.pk != owner.pk]
    taken = room_taken()
    # The probe's room must stay open to the probe.
    if name == PROBE_ROOM:
        raise taken
    try:
        with transaction.atomic():
            room = Room.objects.create(name=name, created_by=owner)
            # Checked once the name is taken (a message saved from now on is refused as
            # a non-member's): a public room's messages would become its new members'.
            if Message.objects.filter(room=name).exists():
                raise taken
            transaction.on_commit(lambda: became_private(name))
            Membership.objects.create(room=room, user=owner, role=OWNER)
            Membership.objects.bulk_create(Membership(room=room, user=user) for user in members)
            ModerationAction.objects.bulk_create(
                ModerationAction(
                    room=room, actor=owner, target=user, action=ModerationAction.INVITE
                )
                for user in members
            )
    except IntegrityError:
        raise taken from None
    # Sockets already open to the name, as a public room, are not members: they leave.
    tell_room(room.name, members=[owner.pk, *(user.pk for user in members)])
    return room


def pair_of(user, other):
    """The key of the direct conversation of two users: their ids, lower first."""
    low, high = sorted([user.pk, other.pk])
    return f"{low}:{high}"


def existing_direct_room(user, other):
    """The direct conversation of ``user`` and ``other``, if either has opened it."""
    return Room.objects.filter(pair=pair_of(user, other)).first()


def direct_room(user, other):
    """The direct conversation of ``user`` and ``other``, made the first time either opens
    it: a pair has one."""
    if not (user.is_authenticated and other.is_active) or user.pk == other.pk:
        raise protocol.ChatError(protocol.FORBIDDEN, _("You can only write to another user."))
    room = existing_direct_room(user, other)
    if room is not None:
        return room
    pair = pair_of(user, other)
    try:
        with transaction.atomic():
            room = Room.objects.create(name=f"dm:{pair}", pair=pair, created_by=user)
            transaction.on_commit(lambda: became_private(room.name))
            Membership.objects.bulk_create(
                [Membership(room=room, user=user), Membership(room=room, user=other)]
            )
    except IntegrityError:  # the other opened it at the same moment
        room = Room.objects.get(pair=pair)
    return room


def title(room, user):
    """What ``user`` calls the private room ``room``: a direct conversation is named after
    the other user."""
    if room.pair:
        return direct_partners([room], user).get(room.pk, _("Deleted user"))
    return room.name


def conversations(user, after=None):
    """A page of the private rooms and direct conversations ``user`` is a member of, most
    recent first, after the cursor ``after`` (the ``next`` of the page before), and the
    cursor of the page after it, or None if none follows. Each room has its name, title,
    whether it is direct, and the counts of messages the user has not read and of those
    that mention them, as kept by rooms.counts: a page costs the same few queries however
    many rooms, members and messages there are.

    ChatError (invalid_frame) if ``after`` is not a cursor this function gave."""
    if not user.is_authenticated:
        return [], None
    seats = (
        Membership.objects.filter(user=user, banned=False)
        .select_related("room")
        .order_by("-last_message_id", "-id")
    )
    if after is not None:
        last_message_id, seat_id = parse_cursor(after)
        seats = seats.filter(
            Q(last_message_id__lt=last_message_id)
            | Q(last_message_id=last_message_id, id__lt=seat_id)
        )
    page = list(seats[: ROOMS_PAGE + 1])
    more, page = len(page) > ROOMS_PAGE, page[:ROOMS_PAGE]
    partners = direct_partners([seat.room for seat in page if seat.room.pair], user)
    found = [
        {
            "name": seat.room.name,
            "title": partners.get(seat.room_id, _("Deleted user"))
            if seat.room.pair
            else seat.room.name,
            "direct": bool(seat.room.pair),
            "role": seat.role,
            "unread": max(seat.unread, 0),
            "mentions": max(seat.mentions, 0),
        }
        for seat in page
    ]
    return found, f"{page[-1].last_message_id}.{page[-1].pk}" if more else None


def parse_cursor(cursor):
    try:
        last_message_id, seat_id = (int(part) for part in cursor.split("."))
    except ValueError:
        last_message_id = seat_id = -1
    if not all(0 <= part <= protocol.MAX_MESSAGE_ID for part in (last_message_id, seat_id)):
        raise protocol.ChatError(protocol.INVALID_FRAME, _("That is not a page of this list."))
    return last_message_id, seat_id


def direct_partners(rooms, user):
    """The username of the other user of each direct conversation of ``rooms``, by room
    id, in one query."""
    others = Membership.objects.filter(room__in=rooms).exclude(user=user).select_related("user")
    return {seat.room_id: seat.user.get_username() for seat in others}


def caught_up(room):
    """A new member's markers: what was said before they came is not news to them."""
    last = Message.objects.filter(room=room.name).aggregate(last=Max("id"))["last"] or 0
    return {"last_read_id": last, "last_message_id": last}


# -- Read markers ----------------------------------------------------------------------------


def mark_read(user, room_name, message_id):
    """Move ``user``'s read marker in the private room to ``message_id``, never back; return
    the marker now, or None where read markers are not kept (public rooms, guests)."""
    if not user.is_authenticated:
        return None
    with transaction.atomic():
        # The member's row alone: the room's, joined, stays free for its other members.
        seat = (
            Membership.objects.select_for_update(of=("self",))
            .filter(room__name=room_name, user=user, banned=False)
            .first()
        )
        if seat is None:
            return None
        # No further than the room's last message: a marker ahead of it would hide the next.
        message_id = min(message_id, seat.last_message_id)
        if message_id > seat.last_read_id:
            counts.read(seat, room_name, message_id)
            return message_id
        return seat.last_read_id


# -- Moderation ------------------------------------------------------------------------------


def members(room):
    """The room's members and those banned from it, owners first."""
    order = {role: rank for rank, role in enumerate(ROLES)}
    found = list(room.memberships.select_related("user"))
    found.sort(key=lambda m: (m.banned, order[m.role], m.user.get_username().lower()))
    return found


def may_manage(actor_membership, target_membership=None):
    """Whether a member may moderate (mute, remove, ban): owners anyone but other owners,
    moderators members only."""
    if actor_membership is None or actor_membership.role not in MODERATING:
        return False
    if target_membership is None:
        return True
    if target_membership.user_id == actor_membership.user_id:
        return False
    if actor_membership.role == OWNER:
        return target_membership.role != OWNER
    return target_membership.role == MEMBER


def acting_seat(actor, room):
    seat = room.memberships.filter(user=actor, banned=False).first()
    if seat is None:
        raise protocol.ChatError(protocol.FORBIDDEN, refusal())
    return seat


def target_seat(room, username):
    seat = room.memberships.select_related("user").filter(user__username=username).first()
    if seat is None:
        raise protocol.ChatError(
            protocol.NOT_FOUND, _("%(name)s is not in this room.") % {"name": username}
        )
    return seat


def forbidden():
    return protocol.ChatError(protocol.FORBIDDEN, _("You may not do that in this room."))


def record(room, actor, action, target=None, detail=""):
    ModerationAction.objects.create(
        room=room, actor=actor, target=target, action=action, detail=detail
    )


@transaction.atomic
def invite(actor, room, username):
    """The owner adds ``username`` to the room as a member, or lets them back in if they
    were banned. A member already in keeps their role."""
    if acting_seat(actor, room).role != OWNER or room.pair:
        raise forbidden()
    (user,) = users_named([username])
    seat, made = Membership.objects.get_or_create(room=room, user=user, defaults=caught_up(room))
    if made:
        record(room, actor, ModerationAction.INVITE, user)
    elif seat.banned:
        seat.banned = False
        seat.role = MEMBER
        seat.save(update_fields=["banned", "role"])
        record(room, actor, ModerationAction.UNBAN, user)


@transaction.atomic
def set_role(actor, room, username, role):
    """The owner makes a member a moderator, an owner, or a member again. Another owner's
    role is theirs to give up (by leaving), not anyone else's to take."""
    if acting_seat(actor, room).role != OWNER or room.pair:
        raise forbidden()
    if role not in ROLES:
        raise protocol.ChatError(protocol.INVALID_FRAME, _("No such role."))
    seat = target_seat(room, username)
    if seat.banned or seat.role == OWNER:
        raise forbidden()
    if seat.role != role:
        seat.role = role
        seat.save(update_fields=["role"])
        record(room, actor, ModerationAction.ROLE, seat.user, role)


def mute(actor, room, username, seconds):
    """Mute a member for ``seconds`` (0 lifts a mute): their messages are refused with the
    error muted and the time left."""
    with transaction.atomic():
        acting = acting_seat(actor, room)
        seat = target_seat(room, username)
        if not may_manage(acting, seat):
            raise forbidden()
        seconds = min(max(seconds, 0), MAX_MUTE.total_seconds())
        until = timezone.now() + timedelta(seconds=seconds)
        seat.muted_until = until if seconds > 0 else None
        seat.save(update_fields=["muted_until"])
        if seconds > 0:
            record(room, actor, ModerationAction.MUTE, seat.user, until.isoformat())
        else:
            record(room, actor, ModerationAction.UNMUTE, seat.user)


def remove(actor, room, username, ban=False):
    """Remove a member, or ban them (they cannot be invited back, nor come by a link,
    until the owner invites them again); their sockets to the room close with 4403."""
    with transaction.atomic():
        acting = acting_seat(actor, room)
        seat = target_seat(room, username)
        if not may_manage(acting, seat) or room.pair:
            raise forbidden()
        user = seat.user
        if ban:
            seat.banned = True
            seat.muted_until = None
            seat.save(update_fields=["banned", "muted_until"])
        else:
            seat.delete()
        record(room, actor, ModerationAction.BAN if ban else ModerationAction.REMOVE, user)
    tell_room(room.name, removed=user.pk)


def leave(user, room):
    """A member leaves a private room. Its last owner cannot: the room would have none."""
    with transaction.atomic():
        seat = acting_seat(user, room)
        if room.pair:
            raise forbidden()
        # Locked: of two owners leaving at once, the second sees the first gone.
        owners = room.memberships.select_for_update().filter(role=OWNER, banned=False)
        if seat.role == OWNER and not owners.exclude(pk=seat.pk).exists():
            raise protocol.ChatError(
                protocol.FORBIDDEN, _("Give the room another owner before you leave it.")
            )
        seat.delete()
    tell_room(room.name, removed=user.pk)


def tell_room(room_name, **change):
    """Tell the room's sockets, on every server process, who may no longer be in it: the
    user id ``removed``, or everyone but the ids in ``members``. With Redis away the
    change stands, and the sockets learn it when they next join: they are closed while
    Redis is away (chat.consumers)."""
    try:
        async_to_sync(get_channel_layer().group_send)(
            group_name(room_name), {"type": events.MEMBERS_EVENT, **change}
        )
    except LAYER_OUTAGES:
        logger.warning("Could not tell room %r of a change of members.", room_name, exc_info=True)


# -- Invite links ----------------------------------------------------------------------------


def key_hash(key):
    return hashlib.sha256(key.encode()).hexdigest()


def make_invite_link_key(actor, room):
    """A new invite link key for the room, replacing any before it; only its hash is
    kept. The owner's alone."""
    if acting_seat(actor, room).role != OWNER or room.pair:
        raise forbidden()
    key = INVITE_KEY_PREFIX + secrets.token_urlsafe(24)
    room.invite_key_hash = key_hash(key)
    room.save(update_fields=["invite_key_hash"])
    record(room, actor, ModerationAction.LINK_CREATED)
    return key


def revoke_invite_link(actor, room):
    if acting_seat(actor, room).role != OWNER:
        raise forbidden()
    room.invite_key_hash = None
    room.save(update_fields=["invite_key_hash"])
    record(room, actor, ModerationAction.LINK_REVOKED)


def room_invited_to(key):
    """The room the invite link key ``key`` is for, or None (unknown, or revoked)."""
    if not key.startswith(INVITE_KEY_PREFIX):
        return None
    return Room.objects.filter(invite_key_hash=key_hash(key)).first()


def join_by_link(user, room):
    """Make ``user`` a member of the room they have the invite link of; ChatError if they
    are banned from it."""
    seat, made = Membership.objects.get_or_create(room=room, user=user, defaults=caught_up(room))
    if seat.banned:
        raise protocol.ChatError(protocol.FORBIDDEN, _("You cannot join this room."))
    if made:
        record(room, user, ModerationAction.JOIN_BY_LINK, user)
