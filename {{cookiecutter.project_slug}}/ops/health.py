"""Liveness and readiness, for a load balancer, compose or Kubernetes.

- GET /healthz: 200 while the process can answer at all; nothing else is checked.
- GET /readyz: 200 when the database and the channel layer (each Redis server of
  channels-redis) answer within READY_TIMEOUT seconds; otherwise 503 with the list of what
  failed, "draining" among them while the process shuts down (ops.drain).

Both are answered in front of Django, without ALLOWED_HOSTS, sessions or CSRF, so that a
probe may call a process by its address. They say which check failed and nothing more;
the server's log has the error.
"""

import asyncio
import logging
import time

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection

from chat import stores
from ops import drain
from ops.plain_responses import respond_json

logger = logging.getLogger(__name__)

READY_TIMEOUT = 2
RESULTS_SECONDS = 1


@database_sync_to_async
def database_answers():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def channel_layer_answers():
    await stores.ping(get_channel_layer())


READINESS_CHECKS = {"database": database_answers, "channel_layer": channel_layer_answers}


async def passes(name, check):
    try:
        await asyncio.wait_for(check(), READY_TIMEOUT)
    except Exception:
        logger.warning("Readiness check %s failed.", name, exc_info=True)
        return False
    return True


async def failed_checks():
    if drain.is_draining():
        return ["draining"]
    return await recent_results()


async def run_checks():
    results = await asyncio.gather(
        *(passes(name, check) for name, check in READINESS_CHECKS.items())
    )
    return [name for name, passed in zip(READINESS_CHECKS, results, strict=True) if not passed]


_last_checks = {}  # "at", "failed": the last run of the checks, and when it began


async def recent_results():
    """What failed the last time the checks ran, if that began under RESULTS_SECONDS ago,
    else what fails now: however often the probes come, the database and Redis are asked
    at most once in that time."""
    now = time.monotonic()
    if now - _last_checks.get("at", float("-inf")) >= RESULTS_SECONDS:
        _last_checks["at"] = now
        _last_checks["failed"] = asyncio.ensure_future(run_checks())
    return list(await asyncio.shield(_last_checks["failed"]))


async def liveness(scope, send):
    await respond_json(scope, send, 200, {"status": "ok"})


async def readiness(scope, send):
    failed = await failed_checks()
    if failed:
        await respond_json(scope, send, 503, {"status": "unavailable", "failed": failed})
    else:
        await respond_json(scope, send, 200, {"status": "ok"})


PROBES = {"/healthz": liveness, "/readyz": readiness}


class HealthChecks:
    """ASGI middleware that answers the probes and hands every other request on."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        probe = PROBES.get(scope["path"]) if scope["type"] == "http" else None
        if probe is None:
            await self.app(scope, receive, send)
        else:
            await probe(scope, send)
