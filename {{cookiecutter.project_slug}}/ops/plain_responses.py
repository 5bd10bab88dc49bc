"""Responses of the endpoints answered in front of Django (ops.health, ops.metrics):
plain ASGI, without middleware, sessions or the ALLOWED_HOSTS check."""

import json

READ_METHODS = ("GET", "HEAD")


async def respond(scope, send, status, body=b"", content_type=b"text/plain", headers=()):
    """Send a whole response; to HEAD, without its body. Any other method than GET and
    HEAD is answered 405."""
    if scope["method"] not in READ_METHODS:
        status, body, headers = 405, b"", [(b"allow", ", ".join(READ_METHODS).encode())]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


async def respond_json(scope, send, status, data):
    await respond(scope, send, status, json.dumps(data).encode(), b"application/json")
