"""A socket lives no longer than the session it was opened with.

Each socket of a logged-in user joins its user's group on the channel layer, so news of
that user reaches the user's sockets on every server process:

- Logging out names the session that ended; the sockets opened with it close.
- A change to the user (a new password, which logs the user's other sessions out; made
  inactive) or deleting the user asks each of the user's sockets to check its session
  again, as Django checks it on every request.
- A session that runs out ends its sockets when it does: each socket checks again at its
  session's expiry.

A socket whose session no longer logs in its user closes with CLOSE_FORBIDDEN (4403).
"""

import asyncio
import hashlib
import logging
from functools import partial
from importlib import import_module

from asgiref.sync import async_to_sync
from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import DatabaseError, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from chat import events
from chat.outages import LAYER_OUTAGES

logger = logging.getLogger(__name__)

# Seconds before a session check that the database could not answer is tried again.
SESSION_RECHECK_DELAY = 5


def user_group(user_pk):
    return f"chat.user.{user_pk}"


def session_tag(session_key):
    """What events name a session by: not its key, which logs in whoever holds it."""
    return hashlib.sha256(session_key.encode()).hexdigest()


def session_store(session_key):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


async def logs_in(session_key, user_pk):
    """Whether the session ``session_key`` still logs in the active user ``user_pk``, by
    the rules Django applies to every request (the user exists and is active, and the
    session was made with the user's current password)."""
    user = await get_user({"session": session_store(session_key)})
    return user.is_authenticated and user.pk == user_pk


def expiry(session_key):
    """When the session ends if nobody renews it (an aware datetime), or None if it is
    gone already."""
    session = session_store(session_key)
    if hasattr(session, "get_model_class"):
        # Database sessions: the saved expiry counts; the session's own reckoning would
        # count from now.
        return (
            session.get_model_class()
            .objects.filter(session_key=session_key, expire_date__gt=timezone.now())
            .values_list("expire_date", flat=True)
            .first()
        )
    # Other engines keep no expiry apart from the session: an upper bound, after which
    # the session is checked again.
    return session.get_expiry_date()


async def until_session_ends(scope):
    """Return once the session of the socket's ``scope`` no longer logs its user in: at
    once, or when the session expires. A check the database cannot answer is tried
    again."""
    session_key = scope["session"].session_key
    while True:
        try:
            if not await logs_in(session_key, scope["user"].pk):
                return
            expires = await database_sync_to_async(expiry)(session_key)
        except DatabaseError:
            logger.warning("Could not check a socket's session; trying again.", exc_info=True)
            await asyncio.sleep(SESSION_RECHECK_DELAY)
            continue
        if expires is None:
            return
        # Checked again a moment after the expiry: the session may have been renewed.
        await asyncio.sleep((expires - timezone.now()).total_seconds() + 1)


def tell_users_sockets(user_pk, event):
    """Send ``event`` to the sockets of user ``user_pk``, on every server process, once
    the current transaction (if any) is committed, so that their checks see the change."""
    transaction.on_commit(partial(send_to_user, user_pk, event))


def send_to_user(user_pk, event):
    try:
        async_to_sync(get_channel_layer().group_send)(user_group(user_pk), event)
    except LAYER_OUTAGES:
        # Without the channel layer no socket is open: they all closed with
        # CLOSE_TRY_AGAIN_LATER, and reconnect with their session checked anew.
        logger.warning("Channel layer unreachable; could not reach user %s's sockets.", user_pk)


def session_ended(sender, request, user, **kwargs):
    if user is None or request is None or request.session.session_key is None:
        return
    tag = session_tag(request.session.session_key)
    tell_users_sockets(user.pk, {"type": events.SESSION_ENDED_EVENT, "session": tag})


def user_saved(sender, instance, created, update_fields, **kwargs):
    # Logging in saves last_login alone, which changes nobody's sessions.
    if created or (update_fields is not None and set(update_fields) == {"last_login"}):
        return
    tell_users_sockets(instance.pk, {"type": events.USER_CHANGED_EVENT})


def user_deleted(sender, instance, **kwargs):
    tell_users_sockets(instance.pk, {"type": events.USER_CHANGED_EVENT})


def connect_signals():
    user_model = get_user_model()
    user_logged_out.connect(session_ended, dispatch_uid="chat.session_ended")
    post_save.connect(user_saved, sender=user_model, dispatch_uid="chat.user_saved")
    post_delete.connect(user_deleted, sender=user_model, dispatch_uid="chat.user_deleted")
