"""Room names: which ones are valid, and the channel-layer group each one maps to.

People name rooms in any language, so a room name is any text of up to
ROOM_NAME_MAX_LENGTH characters. Channels group names allow only ASCII letters, digits,
hyphens, underscores and periods, and fewer than 100 characters, so each room maps to a
group named after the SHA-256 digest of its name: fixed length, and two different rooms
never share a group.
"""

import hashlib
import unicodedata

from django.utils.translation import gettext as _

ROOM_NAME_MAX_LENGTH = 200
GROUP_PREFIX = "chat."
# The room `manage.py chat_probe` sends its message round, unless told another.
PROBE_ROOM = "chat-probe"


class InvalidRoomName(ValueError):
    pass


def normalize_room_name(name):
    """Return the canonical form of ``name``, or raise InvalidRoomName saying why.

    Names are NFC-normalized so that the same visible text typed on different keyboards
    (a precomposed "é" or "e" plus a combining accent) opens the same room.
    """
    name = unicodedata.normalize("NFC", name)
    if not name.strip():
        raise InvalidRoomName(_("A room name cannot be empty."))
    if len(name) > ROOM_NAME_MAX_LENGTH:
        raise InvalidRoomName(
            _("A room name can be at most %(max)d characters long.") % {"max": ROOM_NAME_MAX_LENGTH}
        )
    # Control characters only: format characters such as the zero-width joiner are part
    # of many emoji.
    if any(unicodedata.category(char) in {"Cc", "Cs"} for char in name):
        raise InvalidRoomName(_("A room name cannot contain control characters."))
    # Browsers rewrite "." and ".." path segments, so such rooms could not be linked to.
    if any(segment in {".", ".."} for segment in name.split("/")):
        raise InvalidRoomName(_('A room name cannot have "." or ".." between slashes.'))
    return name


def group_name(room_name):
    digest = hashlib.sha256(room_name.encode("utf-8")).hexdigest()
    return GROUP_PREFIX + digest
