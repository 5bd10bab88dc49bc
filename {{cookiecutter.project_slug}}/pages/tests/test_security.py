import os

import pytest
from django.core.checks import run_checks
from django.core.management.utils import get_random_secret_key

from pages.middleware import CONTENT_SECURITY_POLICY
from testing.processes import manage


def production_env(**overrides):
    return {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": get_random_secret_key(),
        "DJANGO_ALLOWED_HOSTS": "chat.example.com",
        **overrides,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/chat/lobby/", "/accounts/login/"])
def test_pages_forbid_inline_scripts(client, path):
    policy = client.get(path).headers["Content-Security-Policy"]

    assert policy == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_wildcard_allowed_hosts_is_refused_in_production(settings):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["*"]

    assert [message.id for message in run_checks() if not message.is_silenced()] == ["chat.E001"]


def test_wildcard_allowed_hosts_is_allowed_in_development(settings):
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = ["*"]

    assert [message for message in run_checks() if not message.is_silenced()] == []


def test_deploy_checks_pass_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_a_wildcard_host_with_a_clear_message():
    result = manage("check", env=production_env(DJANGO_ALLOWED_HOSTS="*"))

    assert result.returncode != 0
    assert "chat.E001" in result.stderr
    assert "cross-site WebSocket hijacking" in result.stderr
