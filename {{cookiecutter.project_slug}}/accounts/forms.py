"""The sign-up form: Django's, with usernames that cannot pass for someone else's."""

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.contrib.auth.validators import ASCIIUsernameValidator
from django.db.models import Value
from django.db.models.functions import Lower, Replace
from django.utils.translation import gettext as _

from chat.identity import GUEST_PREFIX

# Letters and digits that look alike in the fonts of chat windows, lower-cased; two
# usernames that read the same after these replacements cannot both be taken.
LOOKALIKES = [("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"), ("i", "l")]


def lookalike_key(username):
    key = username.lower()
    for look, like in LOOKALIKES:
        key = key.replace(look, like)
    return key


def lookalike_key_in_database(field):
    """lookalike_key(), computed by the database, over the column ``field``."""
    key = Lower(field)
    for look, like in LOOKALIKES:
        key = Replace(key, Value(look), Value(like))
    return key


class SignupForm(UserCreationForm):
    """Usernames are ASCII: with other scripts, names that look the same (Cyrillic letters
    for Latin ones) or show nothing (zero-width characters) could pass for a taken one.
    They may not look like a guest name, or like a taken username (Django already
    refuses one that differs only in case)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.help_text = _("Letters a-z, digits and @ . + - _ only, up to 150 of them.")

    def clean_username(self):
        username = super().clean_username()
        if username is None:
            return None  # taken, in some case: Django has said so
        ASCIIUsernameValidator()(username)
        if username.lower().startswith(GUEST_PREFIX):
            raise forms.ValidationError(
                _("Names starting with “%(prefix)s” are for guests.") % {"prefix": GUEST_PREFIX}
            )
        lookalikes = User.objects.annotate(key=lookalike_key_in_database("username"))
        if lookalikes.filter(key=lookalike_key(username)).exists():
            raise forms.ValidationError(_("This username looks too much like one that is taken."))
        return username
