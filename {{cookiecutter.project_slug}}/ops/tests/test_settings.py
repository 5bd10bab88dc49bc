"""Settings come from the environment with their types checked, each of the chat's own is
documented once, in docs/settings.md, with its default, and a module a setting names is
refused at start-up unless it offers what the core asks of it."""

import inspect
import json
import os
import re
import subprocess
import sys

import pytest
from channels.layers import get_channel_layer
from django.core.exceptions import ImproperlyConfigured
from environs import EnvValidationError

from chat import rooms_backend, stores
from chat.configured import configured_module
from config.settings import env
from testing.processes import PROJECT_DIR

# What the project's settings are with nothing of the chat's in the environment.
READ_DEFAULTS = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({name: getattr(settings, name) for name in dir(settings) "
    "if name.startswith('CHAT_')}))"
)


def run_python(code, **environment):
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("CHAT_", "REDIS_", "DJANGO_"))
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def documented_rows():
    """(name, default) of every row of docs/settings.md's tables."""
    text = (PROJECT_DIR / "docs" / "settings.md").read_text(encoding="utf-8")
    return [
        (name, default.strip())
        for name, default in re.findall(r"^\| `([A-Z_]+)` \| ([^|]*) \|", text, re.MULTILINE)
    ]


def as_documented(value):
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == "":
        return "empty"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def test_every_chat_setting_is_documented_once_with_its_default():
    result = run_python(READ_DEFAULTS)
    assert result.returncode == 0, result.stderr
    defaults = json.loads(result.stdout)
    rows = [(name, default) for name, default in documented_rows() if name.startswith("CHAT_")]
    names = [name for name, _ in rows]

    assert sorted(names) == sorted(set(names)), "a setting documented twice"
    assert set(names) == set(defaults)
    for name, default in rows:
        # CHAT_STORES follows the channel layer, which its row explains.
        if name != "CHAT_STORES":
            assert default == as_documented(defaults[name]), name


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DJANGO_DEBUG", "maybe"),
        ("CHAT_ALLOW_ANONYMOUS", "ture"),
        ("CHAT_PRESENCE_TTL", "soon"),
        ("CHAT_MAX_MESSAGE_LENGTH", "4k"),
        ("REDIS_SENTINELS", "sentinel.example"),
    ],
)
def test_a_value_of_the_wrong_type_stops_the_server_naming_the_variable(name, value):
    result = run_python("import django; django.setup()", **{name: value})

    assert result.returncode != 0
    assert f'Environment variable "{name}" invalid' in result.stderr


def test_sentinel_addresses_are_host_port_pairs(monkeypatch):
    monkeypatch.setenv("REDIS_SENTINELS", "10.0.0.5:26379, sentinel.example:26380")
    assert env.addresses("REDIS_SENTINELS") == [("10.0.0.5", 26379), ("sentinel.example", 26380)]


@pytest.mark.parametrize("value", ["sentinel.example", "sentinel.example:", ":26379", "a:b"])
def test_a_sentinel_address_without_host_and_port_is_refused_clearly(monkeypatch, value):
    monkeypatch.setenv("REDIS_SENTINELS", value)
    with pytest.raises(EnvValidationError, match="must list host:port pairs"):
        env.addresses("REDIS_SENTINELS")


def test_lists_leave_out_blanks(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", " chat.example.com, ,www.example.com,")
    assert env.names("DJANGO_ALLOWED_HOSTS") == ["chat.example.com", "www.example.com"]


def test_a_store_module_that_does_not_serve_the_channel_layer_is_refused(settings):
    pubsub = "channels_redis.pubsub.RedisPubSubChannelLayer"
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": pubsub}}
    settings.CHAT_STORES = "chat.stores.memory"

    with pytest.raises(ImproperlyConfigured, match="does not serve the channel layer"):
        stores.check_configuration()


@pytest.mark.parametrize(
    ("dotted", "message"),
    [("chat.nowhere", "cannot import chat.nowhere"), ("chat.protocol", "does not define")],
)
def test_a_module_a_setting_names_is_refused_unless_it_offers_what_is_asked(
    settings, dotted, message
):
    settings.CHAT_STORES = dotted

    with pytest.raises(ImproperlyConfigured, match=f"CHAT_STORES.*{message}"):
        stores.check_configuration()


def test_the_rooms_backend_offers_what_the_core_asks():
    for name in rooms_backend.HISTORY_NAMES:
        assert hasattr(rooms_backend.history, name)
    for name in rooms_backend.MEMBERSHIP_NAMES:
        assert hasattr(rooms_backend.membership, name)
    with pytest.raises(ImproperlyConfigured, match=r"CHAT_ROOMS_BACKEND: chat\.protocol does not"):
        configured_module("CHAT_ROOMS_BACKEND", "chat.protocol", rooms_backend.HISTORY_NAMES)


async def test_the_configured_stores_keep_the_contract():
    contracts = {
        "presence": stores.Presence,
        "flood_limit": stores.FloodLimit,
        "socket_counts": stores.SocketCounts,
    }
    layer = get_channel_layer()
    for kind, contract in contracts.items():
        store = stores.store(kind, layer)
        for name in contract.__dict__:
            if not name.startswith("_"):
                assert inspect.iscoroutinefunction(getattr(store, name)), (kind, name)
