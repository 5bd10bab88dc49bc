"""ASGI entry point: HTTP goes to Django, WebSockets to the chat consumers; the probes
and the metrics are answered in front of Django (ops.health, ops.metrics).

Served by daphne: `python -m config.serve config.asgi:application` in production (daphne
on uvloop, config/serve.py), `manage.py runserver` in development.
"""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Set up Django (apps, settings) before importing code that uses models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from chat.auth import SocketAuthMiddlewareStack  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402
from ops.health import HealthChecks  # noqa: E402
from ops.metrics import MetricsEndpoint  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": HealthChecks(MetricsEndpoint(django_asgi_app)),
        # Refuse sockets opened from pages on other sites (cross-site WebSocket hijacking).
        "websocket": AllowedHostsOriginValidator(
            SocketAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

# All that startup built lives as long as the process, and a full garbage collection
# walked every bit of it, holding up every socket for tens of milliseconds; frozen, the
# collector leaves it out.
gc.freeze()
