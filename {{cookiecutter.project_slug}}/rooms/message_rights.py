"""Who may change a saved message: its author edits and deletes it; staff delete any, and
the owners and moderators of a private room any of its messages (rooms.membership)."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from chat import identity, protocol
from rooms import membership


def wrote(user, guest_key, message):
    """Whether ``user`` wrote ``message``: a guest, by their session's key
    (chat.identity.guest_key)."""
    if message.guest:
        return (
            identity.is_guest(user)
            and bool(guest_key)
            and message.guest_key_hash == identity.guest_key_hash(guest_key)
        )
    return message.user_id is not None and message.user_id == user.pk


def may_delete_any(user, room):
    """Whether ``user`` may delete others' messages in ``room``, not only their own: staff
    may, and the room's owners and moderators. Read from the database, not from the user
    a socket opened with: a right taken away is taken away from open sockets too."""
    return user.is_authenticated and (
        get_user_model().objects.filter(pk=user.pk, is_active=True, is_staff=True).exists()
        or membership.moderates(user, room)
    )


def check_may_edit(user, guest_key, message):
    """Raise ChatError (forbidden) unless ``user`` may edit ``message``."""
    if not wrote(user, guest_key, message):
        raise protocol.ChatError(protocol.FORBIDDEN, _("You can only edit your own messages."))


def check_may_delete(user, guest_key, message):
    """Raise ChatError (forbidden) unless ``user`` may delete ``message``."""
    if not (wrote(user, guest_key, message) or may_delete_any(user, message.room)):
        raise protocol.ChatError(protocol.FORBIDDEN, _("You can only delete your own messages."))
