"""Flood control for one socket: each frame it sends is counted against its sender's
budget (chat.ratelimit), which every socket of the sender shares. Over it the client is
told when to try again, and after CHAT_RATE_LIMIT_STRIKES frames in a row over it the
consumer closes the socket. The same store holds the budget of a user's comings and
goings in a room (presence.ANNOUNCEMENTS_*)."""

from django.conf import settings

from chat import presence, ratelimit
from ops import metrics


class FloodGuard:
    def __init__(self, layer, sender):
        self.limit = ratelimit.flood_limit_for(layer)
        self.sender = sender
        self.strikes = 0  # frames in a row over the limit

    async def take(self):
        """Count one frame: 0 if it may go, else the seconds until one may."""
        retry_after = await self.limit.take(
            self.sender,
            rate=settings.CHAT_RATE_LIMIT_PER_SECOND,
            burst=settings.CHAT_RATE_LIMIT_BURST,
        )
        if not retry_after:
            self.strikes = 0
            return 0
        metrics.RATE_LIMITED.inc()
        self.strikes += 1
        return retry_after

    def struck_out(self):
        """Whether the socket sent so many frames in a row over the limit that it closes."""
        return self.strikes >= settings.CHAT_RATE_LIMIT_STRIKES

    async def may_announce(self, group, name):
        """Whether a coming or going of ``name`` in the room of ``group`` is within their
        announcements' budget there."""
        retry_after = await self.limit.take(
            f"presence:{group}:{name}",
            rate=presence.ANNOUNCEMENTS_PER_SECOND,
            burst=presence.ANNOUNCEMENTS_BURST,
        )
        return not retry_after
