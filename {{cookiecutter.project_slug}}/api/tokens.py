"""Keys to the HTTP API: made, looked up by their hash, and never kept in the clear."""

import hashlib
import secrets

from django.utils import timezone

from api.models import ApiToken

# Keys start so, for secret scanners and for people to tell them from passwords.
KEY_PREFIX = "chat_"
# How much of a key is kept in the clear, to tell tokens apart in lists.
SHOWN_LENGTH = len(KEY_PREFIX) + 6
# last_used is written at most this often per token, not on every request.
LAST_USED_RESOLUTION_SECONDS = 60


def key_hash(key):
    # Keys are 256 random bits: a fast hash is enough, unlike for passwords.
    return hashlib.sha256(key.encode()).hexdigest()


def give_key(token):
    """Give the unsaved ``token`` a new key; return the key, which is shown only now."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token.key_hash = key_hash(key)
    token.prefix = key[:SHOWN_LENGTH]
    return key


def issue(user, name):
    """Make a token for ``user``; return it and its key, which is shown only now."""
    token = ApiToken(user=user, name=name)
    key = give_key(token)
    token.save()
    return token, key


def user_for(key):
    """The active user whose token ``key`` is, or None; notes that the token was used."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=key_hash(key), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if (
        token.last_used is None
        or (now - token.last_used).total_seconds() > LAST_USED_RESOLUTION_SECONDS
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
    return token.user
