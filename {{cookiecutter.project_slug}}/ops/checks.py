from django.conf import settings
from django.core.checks import Error, Tags, register


# Not a deploy-only check: with DEBUG off it stops `migrate`, `runserver` and `check` too.
@register(Tags.security)
def check_allowed_hosts_is_explicit(app_configs, **kwargs):
    """A wildcard host also lets every site's pages open sockets to the chat as their
    visitors: the WebSocket Origin check compares against ALLOWED_HOSTS."""
    if not settings.DEBUG and "*" in settings.ALLOWED_HOSTS:
        return [
            Error(
                "DJANGO_ALLOWED_HOSTS contains '*'.",
                hint=(
                    "List the host names the chat is served under, e.g. "
                    "DJANGO_ALLOWED_HOSTS=chat.example.com. With '*', pages on any site can "
                    "open WebSockets to the chat as their visitors (cross-site WebSocket "
                    "hijacking)."
                ),
                id="chat.E001",
            )
        ]
    return []
