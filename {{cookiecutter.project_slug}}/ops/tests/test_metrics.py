"""/metrics (ops.metrics): who may read it, and that the chat's figures move."""

import json
import re

import pytest
from channels.testing import HttpCommunicator
from prometheus_client import REGISTRY

from chat import protocol
from config.asgi import application
from ops import metrics
from testing.processes import PROJECT_DIR

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "s3cret-metrics-token"  # noqa: S105 (a test token)


async def scrape(authorization=None, method="GET"):
    headers = [(b"host", b"10.0.0.7:8000")]
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    communicator = HttpCommunicator(application, method, "/metrics", headers=headers)
    response = await communicator.get_response()
    return response["status"], dict(response["headers"]), response["body"].decode()


def value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0


async def test_metrics_are_a_404_without_a_token(settings):
    settings.CHAT_METRICS_TOKEN = ""
    assert (await scrape(f"Bearer {TOKEN}"))[0] == 404
    assert (await scrape("Bearer "))[0] == 404


@pytest.mark.parametrize("authorization", [None, "", "Bearer wrong", f"Basic {TOKEN}", TOKEN])
async def test_metrics_need_the_bearer_token(settings, authorization):
    settings.CHAT_METRICS_TOKEN = TOKEN
    status, headers, body = await scrape(authorization)
    assert (status, headers[b"www-authenticate"]) == (401, b"Bearer")
    assert "chat_" not in body


async def test_metrics_in_the_prometheus_format_by_any_address(settings):
    settings.CHAT_METRICS_TOKEN = TOKEN
    status, headers, body = await scrape(f"Bearer {TOKEN}")
    assert status == 200
    assert headers[b"content-type"].startswith(b"text/plain; version=")
    for family, kind in [
        ("chat_sockets_open", "gauge"),
        ("chat_socket_connects_total", "counter"),
        ("chat_socket_closes_total", "counter"),
        ("chat_messages_total", "counter"),
        ("chat_deliveries_total", "counter"),
        ("chat_message_delivery_seconds", "histogram"),
        ("chat_rate_limited_total", "counter"),
        ("chat_layer_errors_total", "counter"),
        ("process_cpu_seconds_total", "counter"),
    ]:
        assert f"# TYPE {family} {kind}\n" in body
    assert (await scrape(f"Bearer {TOKEN}", method="POST"))[0] == 405


async def test_sockets_messages_and_deliveries_are_counted(join, settings):
    before = {
        name: value(name)
        for name in [
            "chat_socket_connects_total",
            "chat_messages_total",
            "chat_deliveries_total",
            "chat_message_delivery_seconds_count",
        ]
    }
    open_before = value("chat_sockets_open")
    closes_before = value("chat_socket_closes_total", code="1000")

    alice = await join("metrics")
    bob = await join("metrics")
    assert value("chat_sockets_open") == open_before + 2
    await alice.send_json_to({"message": "counted"})
    for socket in (alice, bob):
        assert (await socket.receive_json_from())["message"] == "counted"

    assert value("chat_socket_connects_total") == before["chat_socket_connects_total"] + 2
    assert value("chat_messages_total") == before["chat_messages_total"] + 1
    # The message once to each socket, beside their history and presence frames.
    assert value("chat_deliveries_total") >= before["chat_deliveries_total"] + 2
    assert (
        value("chat_message_delivery_seconds_count")
        == before["chat_message_delivery_seconds_count"] + 1
    )
    await alice.disconnect(code=1000)
    assert value("chat_sockets_open") == open_before + 1
    assert value("chat_socket_closes_total", code="1000") == closes_before + 1


async def test_rate_limited_frames_are_counted(join, settings):
    settings.CHAT_RATE_LIMIT_BURST = 1
    settings.CHAT_RATE_LIMIT_PER_SECOND = 0.001
    before = value("chat_rate_limited_total")
    alice = await join("metrics")
    await alice.send_json_to({"message": "one"})
    # With Redis the echo goes round the layer, so a refusal sent at once could overtake it.
    assert (await alice.receive_json_from())["message"] == "one"
    await alice.send_json_to({"message": "two"})
    assert (await alice.receive_json_from())["code"] == protocol.RATE_LIMITED
    assert value("chat_rate_limited_total") == before + 1


def test_close_codes_are_bounded_labels():
    assert metrics.close_label(protocol.CLOSE_GOING_AWAY) == "4001"
    assert metrics.close_label(1006) == "1006"
    # Clients choose the codes they close with; each would be a new series.
    assert {metrics.close_label(code) for code in range(3000, 5000)} <= {
        *(str(code) for code in protocol.CLOSE_CODES),
        "other",
    }


def test_the_grafana_dashboard_shows_every_chat_metric_and_no_other():
    families = {family.name for family in REGISTRY.collect()}
    dashboard = json.loads((PROJECT_DIR / "deploy" / "grafana-dashboard.json").read_text())
    queries = " ".join(
        target["expr"] for panel in dashboard["panels"] for target in panel["targets"]
    )
    shown = {
        re.sub(r"_(total|bucket)$", "", name)
        for name in re.findall(r"\b(?:chat|process)_\w+", queries)
    }
    assert shown <= families
    assert {family for family in families if family.startswith("chat_")} <= shown
