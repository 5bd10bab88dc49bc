"""What the browser client (pages/static/chat/) says, in the page's language.

The room page hands these to the client with the protocol's constants, so the client's
texts are translated with the rest of the project (locale) and need no catalog of
their own. "{name}"-style fields are filled in by the client.
"""

from django.utils.translation import gettext as _


def client_texts():
    return {
        "connected": _("Connected"),
        "reconnecting": _("Disconnected. Reconnecting in {seconds} s…"),
        "reconnected_without_history": _(
            "Reconnected. Messages sent while you were away are not shown."
        ),
        # Closes after which reconnecting cannot help (chat.protocol's close codes).
        "login_required": _("Log in to chat in this room."),
        "session_ended": _("You have been logged out. Log in again to chat."),
        "too_many_sockets": _(
            "The chat is open in too many tabs. Close one, then reload this page."
        ),
        "invalid_room": _("This room name is not valid."),
        # A message on its way, and one that did not arrive.
        "queued": _("Waiting to send…"),
        "waiting_for_connection": _("Waiting for the connection…"),
        "sending": _("Sending…"),
        "failed": _("Not sent."),
        "not_answered": _("The server did not answer."),
        "retry": _("Retry"),
        # A person's name links to a direct conversation with them.
        "write_to": _("Write to {name} directly"),
        "typing_one": _("{name} is typing…"),
        "typing_many": _("{names} are typing…"),
        # After your own name in the list of who is online.
        "you": _("(you)"),
        # Editing and deleting a saved message: your own, or as staff anyone's.
        "edit": _("Edit"),
        "delete": _("Delete"),
        "edit_label": _("Edit message"),
        "save": _("Save"),
        "cancel": _("Cancel"),
        "edit_hint": _("Enter saves; Esc cancels."),
        "saving": _("Saving…"),
        "not_saved": _("Not saved."),
        "confirm_delete": _("Delete this message?"),
        "deleting": _("Deleting…"),
        "not_deleted": _("Not deleted."),
        # After the time of a message changed since it was sent; on hover, when.
        "edited": _("(edited)"),
        "edited_at": _("Edited {time}"),
        # In place of a deleted message's text.
        "deleted": _("This message was deleted."),
        # Answering a saved message; on the line a reply shows of what it answers.
        "reply": _("Reply"),
        "show_answered": _("Go to the message this answers"),
    }
