"""The language of a socket's texts (its error details): the language of its page."""

from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.utils import translation


def socket_language(scope):
    """The language Django's LocaleMiddleware would choose for a page requested with this
    socket's handshake: the switcher's cookie, else the browser's Accept-Language, else
    LANGUAGE_CODE."""
    request = HttpRequest()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            request.COOKIES.update(parse_cookie(value.decode("latin-1")))
        elif name == b"accept-language":
            request.META["HTTP_ACCEPT_LANGUAGE"] = value.decode("latin-1")
    return translation.get_language_from_request(request)
