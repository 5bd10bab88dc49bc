"""Messages saved as the chat saves them (rooms.history.save_message), so that what it
keeps beside them (rooms.counts) follows, as in a real room."""

from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from chat import identity
from rooms import history
from rooms.models import Message


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
