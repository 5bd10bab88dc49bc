from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A key to the HTTP API (api.views), acting as its user. Only a hash of the key is
    kept: the key itself is shown once, when the token is made."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_api_tokens"
    )
    # What the token is for ("deploy bot"), for whoever revokes it later.
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The key's first characters, to tell tokens apart in lists without the key.
    prefix = models.CharField(max_length=12, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API token"

    def __str__(self):
        return f"{self.prefix}… ({self.name}, {self.user})"
