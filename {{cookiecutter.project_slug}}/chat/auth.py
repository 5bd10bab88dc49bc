"""Who is at the other end of a socket: the session and user of its session cookie."""

from importlib import import_module

from channels.auth import AuthMiddleware
from channels.sessions import CookieMiddleware
from django.conf import settings


class SocketSessionMiddleware:
    """Puts the session named by the session cookie in the scope, as Channels'
    SessionMiddleware does, without wrapping send().

    Channels' wrapper checks, on every message sent, whether to save a modified session
    with an HTTP response, which a socket never sends. In a room that check runs once for
    every member for every message, a measurable share of the server's CPU per delivered
    message in a busy room. A socket's session is read, never saved.
    """

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        session_store = import_module(settings.SESSION_ENGINE).SessionStore
        session_key = scope["cookies"].get(settings.SESSION_COOKIE_NAME)
        scope = {**scope, "session": session_store(session_key)}
        return await self.inner(scope, receive, send)


def SocketAuthMiddlewareStack(inner):
    """Channels' AuthMiddlewareStack, with the session middleware above."""
    return CookieMiddleware(SocketSessionMiddleware(AuthMiddleware(inner)))
