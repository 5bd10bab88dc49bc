"""Users, private rooms and messages made as the chat makes them: messages saved through
rooms.history.save_message, so that what it keeps beside them (rooms.counts) follows, as
in a real room."""

from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from chat import identity
from rooms import history, membership
from rooms.models import Message


def user(username):
    return get_user_model().objects.get_or_create(username=username)[0]


def make_room(name, owner, *members):
    """The private room ``name`` of ``owner``, with ``members``; every user made if need be."""
    for member in members:
        user(member)
    return membership.create_private_room(user(owner), name, members)


async def asay(room, writer, text="hi"):
    """Save ``text`` as ``writer`` said it in ``room``: a guest if the name is a guest's
    ("guest-…"), else the account of that username, made if need be. Returns the Message."""
    if writer.startswith(identity.GUEST_PREFIX):
        user = AnonymousUser()
    else:
        user = await get_user_model().objects.aget_or_create(username=writer)
        user = user[0]
    frame, _ = await history.save_message(room=room, user=user, display_name=writer, text=text)
    return await Message.objects.aget(id=frame["id"])


say = async_to_sync(asay)
