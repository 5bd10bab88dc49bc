"""The events the channel layer carries, to a room's group or to a user's sockets, and
their types: what a consumer handles in the method Channels names after the type
(MESSAGE_EVENT, "chat.message", in chat_message). Clients never see these; they see the
frames of chat.protocol, which most of these events carry ready encoded, under "frame".
"""

# A chat.message frame for every socket of the room.
MESSAGE_EVENT = "chat.message"
# A chat.change frame (an edit or a delete of a saved message) for every socket of the room.
CHANGE_EVENT = "chat.change"
# A typing frame for every socket of the room but the sender's ("sender").
TYPING_EVENT = "chat.typing"
# A presence frame for every socket of the room.
PRESENCE_EVENT = "chat.presence"
# The room's events can no longer reach this process's sockets (chat.local_rooms).
UNAVAILABLE_EVENT = "chat.unavailable"
# Members were removed or banned, or the room became private ("removed", "members").
MEMBERS_EVENT = "chat.members"
# A chat.read frame for every socket of one user.
READ_EVENT = "chat.read"
# One of the user's sessions ended ("session"): its sockets close (chat.session_watch).
SESSION_ENDED_EVENT = "chat.session_ended"
# The user changed (password, active): their sockets check their session again.
USER_CHANGED_EVENT = "chat.user_changed"

# The events after which a reading of the room's history is out of date.
HISTORY_CHANGES = {MESSAGE_EVENT, CHANGE_EVENT}
