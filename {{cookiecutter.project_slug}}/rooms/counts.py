"""Counts kept as messages come and go, so that no room list and no lobby counts a room's
history.

Each member of a private room has on their Membership row the room's last message id,
which orders their room list, and two counts of the messages after their read marker
(``last_read_id``) that are not deleted and not their own: ``unread``, and ``mentions``,
those of them that mention the member (a Mention row each). A public room that has
messages has a PublicRoom row with what the lobby lists it by.

The functions below run in the transaction that changes a message or a marker, and add to
the counts or take from them with UPDATEs that the database applies one after another:
several server processes keep them exact. A member's counts cost what changed (the
members of the room, the messages newly read), never the room's history. recount()
works them out from the messages again, after data was written some other way (manage.py
chat_recount).
"""

from django.db import IntegrityError, transaction
from django.db.models import Case, Count, F, Max, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Greatest

from chat import protocol
from chat.room_names import PROBE_ROOM
from rooms.models import Membership, Mention, Message, PublicRoom, Room


def behind(message):
    """The members for whom ``message`` counts: it is after their read marker, and not
    theirs."""
    return Q(last_read_id__lt=message.id) & ~Q(user_id=message.user_id)


def posted(message, private_room_id):
    """Count the new ``message``, of the private room ``private_room_id`` or, if None, of
    a public room."""
    if private_room_id is None:
        public_room_posted(message)
        return
    members = Membership.objects.filter(room_id=private_room_id)
    members.update(
        last_message_id=Greatest("last_message_id", Value(message.id)),
        unread=F("unread") + Case(When(behind(message), then=Value(1)), default=Value(0)),
    )
    mention(message, mentioned_seats(private_room_id, message))


def edited(message, private_room_id):
    """Count the mentions of ``message`` as its new text makes them."""
    if private_room_id is None:
        return
    before = set(Mention.objects.filter(message=message).values_list("membership_id", flat=True))
    now = mentioned_seats(private_room_id, message)
    unmention(message, before - now)
    mention(message, now - before)


def erased(message, private_room_id):
    """Take the deleted ``message`` off the counts of the members it counted for."""
    if private_room_id is None:
        return
    Membership.objects.filter(behind(message), room_id=private_room_id).update(
        unread=F("unread") - 1
    )
    unmention(
        message, Mention.objects.filter(message=message).values_list("membership_id", flat=True)
    )


def read(seat, room_name, up_to):
    """Move ``seat``'s read marker in the room ``room_name`` forward to the message id
    ``up_to`` and take what it read off its counts: the messages between the two markers,
    once each."""
    newly_read = Message.objects.filter(room=room_name, id__gt=seat.last_read_id, id__lte=up_to)
    unread = newly_read.filter(deleted=False).exclude(user_id=seat.user_id).count()
    mentions = Mention.objects.filter(
        membership=seat, message_id__gt=seat.last_read_id, message_id__lte=up_to
    ).count()
    Membership.objects.filter(pk=seat.pk).update(
        last_read_id=up_to, unread=F("unread") - unread, mentions=F("mentions") - mentions
    )


def mentioned_seats(room_id, message):
    """The ids of the memberships of the room that ``message`` mentions, its sender's
    aside."""
    names = protocol.mentioned_names(message.text)
    if not names:
        return set()
    members = (
        Membership.objects.filter(room_id=room_id)
        .exclude(user_id=message.user_id)
        .values_list("pk", "user__username")
    )
    return {pk for pk, username in members if username.lower() in names}


def mention(message, seats):
    seats = list(seats)
    if not seats:
        return
    Mention.objects.bulk_create(Mention(membership_id=pk, message=message) for pk in seats)
    Membership.objects.filter(behind(message), pk__in=seats).update(mentions=F("mentions") + 1)


def unmention(message, seats):
    seats = list(seats)
    if not seats:
        return
    Membership.objects.filter(behind(message), pk__in=seats).update(mentions=F("mentions") - 1)
    Mention.objects.filter(message=message, membership_id__in=seats).delete()


def public_room_posted(message):
    """Keep the public room's last message, and list it once an account or a second
    writer has written there."""
    if message.room == PROBE_ROOM:
        return  # the probe's message is deleted at once: no one's conversation
    by_account = message.user_id is not None
    rooms = PublicRoom.objects.filter(name=message.room)
    kept = rooms.update(
        last_message_id=Greatest("last_message_id", Value(message.id)),
        listed=Case(
            When(Q(listed=True) | ~Q(first_writer=message.display_name), then=Value(True)),
            default=Value(by_account),
        ),
    )
    if kept:
        return
    try:
        with transaction.atomic():
            PublicRoom.objects.create(
                name=message.room,
                last_message_id=message.id,
                first_writer=message.display_name,
                listed=by_account,
            )
    except IntegrityError:
        # Another process made the row between the update and the create: update it.
        if not PublicRoom.objects.filter(name=message.room).exists():
            raise
        public_room_posted(message)


def recount():
    """Work every kept count out from the messages again: the mentions and each member's
    counts, room by room, and the public rooms."""
    with transaction.atomic():
        Mention.objects.all().delete()
        for room in Room.objects.all():
            recount_room(room)
        recount_public_rooms()


def recount_room(room):
    messages = Message.objects.filter(room=room.name)
    last = messages.aggregate(last=Max("id"))["last"] or 0
    seats = list(room.memberships.select_related("user"))
    by_name = {seat.user.get_username().lower(): seat for seat in seats}
    Mention.objects.bulk_create(
        (
            Mention(membership=by_name[name], message=message)
            for message in messages.filter(deleted=False).iterator()
            for name in protocol.mentioned_names(message.text) & by_name.keys()
            if by_name[name].user_id != message.user_id
        ),
        batch_size=1000,
    )
    for seat in seats:
        newer = messages.filter(id__gt=seat.last_read_id)
        Membership.objects.filter(pk=seat.pk).update(
            last_message_id=last,
            unread=newer.filter(deleted=False).exclude(user_id=seat.user_id).count(),
            mentions=Mention.objects.filter(
                membership=seat, message_id__gt=seat.last_read_id
            ).count(),
        )


def recount_public_rooms():
    PublicRoom.objects.all().delete()
    first_writer = Message.objects.filter(room=OuterRef("room")).order_by("id")
    rooms = (
        Message.objects.exclude(room__in=Room.objects.values("name"))
        .exclude(room=PROBE_ROOM)
        .values("room")
        .annotate(
            last_id=Max("id"),
            writers=Count("display_name", distinct=True),
            by_accounts=Count("user"),
            first_writer=Subquery(first_writer.values("display_name")[:1]),
        )
    )
    PublicRoom.objects.bulk_create(
        (
            PublicRoom(
                name=room["room"],
                last_message_id=room["last_id"],
                first_writer=room["first_writer"],
                listed=room["writers"] >= 2 or room["by_accounts"] > 0,
            )
            for room in rooms.iterator()
        ),
        batch_size=1000,
    )
