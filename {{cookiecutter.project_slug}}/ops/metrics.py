"""The chat's metrics, in the Prometheus text format at /metrics (prometheus-client).

Each server process serves its own, on its own address, and Prometheus scrapes every
process (one target per container or pod). prometheus-client's multiprocess mode is for
workers forked by one parent that share a directory of files (gunicorn); daphne processes
are separate containers that share nothing, and a process's own figures say which one
is in trouble. For that reason the proxy does not pass /metrics on (deploy/nginx.conf):
through it, each scrape would reach a different process.

/metrics answers only requests that carry `Authorization: Bearer <CHAT_METRICS_TOKEN>`,
and is a 404 while that setting is empty. Like /healthz, it is answered in front of
Django, so that Prometheus may scrape a process by its address.
"""

import hmac

from django.conf import settings
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from chat import protocol
from ops.plain_responses import respond

SOCKETS_OPEN = Gauge("chat_sockets_open", "Chat sockets open in this process.")
ROOMS_OPEN = Gauge(
    "chat_rooms_open", "Rooms this process is subscribed to, one channel-layer group each."
)
SOCKET_CONNECTS = Counter(
    "chat_socket_connects", "WebSocket handshakes that reached the chat, refused ones too."
)
SOCKET_CLOSES = Counter(
    "chat_socket_closes",
    "Chat sockets closed, by close code: one of the protocol's, 1000, 1001, 1006 or other.",
    ["code"],
)
MESSAGES = Counter("chat_messages", "Messages accepted from clients and sent to their room.")
DELIVERIES = Counter("chat_deliveries", "Frames written to sockets.")
DELIVERY_SECONDS = Histogram(
    "chat_message_delivery_seconds",
    "From a message's receipt by a server process to its last write to a socket of this one.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
RATE_LIMITED = Counter("chat_rate_limited", "Frames refused for going over the flood limit.")
LAYER_ERRORS = Counter("chat_layer_errors", "Times the channel layer (Redis) could not be reached.")

# Close codes are labels as they are: a label per code a client could choose would let
# clients grow the metrics without bound.
NORMAL_CLOSES = {1000, 1001, 1006}


def close_label(code):
    if code in protocol.CLOSE_CODES or code in NORMAL_CLOSES:
        return str(code)
    return "other"


class MetricsEndpoint:
    """ASGI middleware that answers /metrics and hands every other request on."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/metrics":
            await self.app(scope, receive, send)
        elif not settings.CHAT_METRICS_TOKEN:
            await respond(scope, send, 404, b"Not Found")
        elif not authorized(scope):
            await respond(
                scope, send, 401, b"Unauthorized", headers=[(b"www-authenticate", b"Bearer")]
            )
        else:
            await respond(scope, send, 200, generate_latest(), CONTENT_TYPE_LATEST.encode())


def authorized(scope):
    expected = f"Bearer {settings.CHAT_METRICS_TOKEN}".encode()
    given = dict(scope["headers"]).get(b"authorization", b"")
    return hmac.compare_digest(given, expected)
