"""/healthz and /readyz (ops.health), through the whole ASGI application."""

import asyncio
import json

import pytest

from config.asgi import application
from ops import drain, health

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def checks_run_afresh(monkeypatch):
    # Each test asks the database and Redis itself, not the last test's results.
    monkeypatch.setattr(health, "_last_checks", {})


async def get(path, method="GET", host=b"localhost"):
    """Call the ASGI application as a server would; return the status, headers and the
    body read as JSON, if it is JSON.

    (Not through Channels' HttpCommunicator: the thread it gives each request holds a
    pooled PostgreSQL connection past the end of the test, and the test database could
    not be dropped.)"""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", host)],
        "client": ("10.0.0.1", 40000),
        "server": ("10.0.0.7", 8000),
    }
    sent = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client stays until the response is sent

    async def send(message):
        sent.append(message)

    await application(scope, receive, send)
    headers = dict(sent[0]["headers"])
    body = b"".join(message.get("body", b"") for message in sent[1:])
    is_json = headers.get(b"content-type") == b"application/json"
    return sent[0]["status"], headers, json.loads(body) if is_json and body else None


async def test_liveness_answers_without_checking_anything(monkeypatch):
    async def broken():
        raise OSError("down")

    monkeypatch.setitem(health.READINESS_CHECKS, "database", broken)
    assert await get("/healthz") == (
        200,
        {
            b"content-type": b"application/json",
            b"content-length": b"16",
            b"cache-control": b"no-store",
        },
        {"status": "ok"},
    )


async def test_ready_when_the_database_and_the_channel_layer_answer():
    status, _, body = await get("/readyz")
    assert (status, body) == (200, {"status": "ok"})


@pytest.mark.parametrize("failing", ["database", "channel_layer"])
async def test_not_ready_names_what_failed_and_nothing_more(monkeypatch, caplog, failing):
    async def broken():
        raise OSError("password=hunter2 host=10.0.0.7")

    monkeypatch.setitem(health.READINESS_CHECKS, failing, broken)
    status, _, body = await get("/readyz")
    assert (status, body) == (503, {"status": "unavailable", "failed": [failing]})
    # The error is in the server's log, not in the answer.
    assert "hunter2" in caplog.text


async def test_a_check_that_hangs_fails_within_the_timeout(monkeypatch):
    async def hangs():
        await asyncio.sleep(60)

    async def answers():
        pass

    monkeypatch.setattr(health, "READY_TIMEOUT", 0.1)
    monkeypatch.setitem(health.READINESS_CHECKS, "channel_layer", hangs)
    # The real database may take longer than this timeout on a busy machine.
    monkeypatch.setitem(health.READINESS_CHECKS, "database", answers)
    status, _, body = await get("/readyz")
    assert (status, body) == (503, {"status": "unavailable", "failed": ["channel_layer"]})


async def test_probes_in_quick_succession_ask_the_database_once(monkeypatch):
    asked = []

    async def counted():
        asked.append(1)

    monkeypatch.setitem(health.READINESS_CHECKS, "database", counted)
    answers = await asyncio.gather(*(get("/readyz") for _ in range(5)))
    assert {status for status, _, _ in answers} == {200}
    assert (await get("/readyz"))[0] == 200
    assert asked == [1]

    monkeypatch.setattr(health, "RESULTS_SECONDS", 0)
    assert (await get("/readyz"))[0] == 200
    assert asked == [1, 1]


async def test_not_ready_while_draining(monkeypatch):
    monkeypatch.setattr(drain, "_draining", True)
    assert (await get("/readyz"))[::2] == (503, {"status": "unavailable", "failed": ["draining"]})
    assert (await get("/healthz"))[0] == 200


async def test_probes_answer_any_host_and_only_read_methods():
    # A load balancer calls a process by its address, which ALLOWED_HOSTS does not list.
    assert (await get("/readyz", host=b"10.0.0.7:8000"))[0] == 200
    status, headers, body = await get("/healthz", method="HEAD")
    assert (status, body) == (200, None)
    assert headers[b"content-length"] == b"16"
    status, headers, _ = await get("/readyz", method="POST")
    assert (status, headers[b"allow"]) == (405, b"GET, HEAD")


async def test_other_paths_still_reach_django():
    status, _, _ = await get("/healthz/", host=b"10.0.0.7")
    assert status == 400  # Django's own ALLOWED_HOSTS check
