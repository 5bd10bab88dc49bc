"""Accounts are throttled: failed logins lock out (django-axes), sign-ups and password
resets are counted per client address (django-ratelimit); hashing passwords holds up
neither the chat nor the database pool (accounts.passwords)."""

import pytest
from django.contrib.auth import hashers
from django.contrib.auth.hashers import check_password, make_password
from django.core import mail
from django.db import connections, transaction
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
PASSWORD = "a long enough password 123"  # noqa: S105


def log_in(username, password, address):
    client = Client(REMOTE_ADDR=address)
    return client, client.post(LOGIN, {"username": username, "password": password})


def failures(username, addresses):
    """The status of each failed login: the form again (200), or locked out (429)."""
    return [log_in(username, "wrong", address)[1].status_code for address in addresses]


def test_failed_logins_for_one_username_lock_it_out_from_anywhere(settings, django_user_model):
    django_user_model.objects.create_user("alice", password=PASSWORD)
    limit = settings.AXES_FAILURE_LIMIT
    addresses = [f"198.51.100.{n}" for n in range(limit)]
    # Locked out by the failure that reaches the limit.
    assert failures("alice", addresses) == [200] * (limit - 1) + [429]

    client, response = log_in("alice", PASSWORD, "203.0.113.9")

    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session


def test_failed_logins_from_one_address_lock_it_out_for_every_username(settings, django_user_model):
    django_user_model.objects.create_user("bob", password=PASSWORD)
    for n in range(settings.AXES_FAILURE_LIMIT):
        failures(f"guess-{n}", ["198.51.100.1"])

    _, response = log_in("bob", PASSWORD, "198.51.100.1")
    assert response.status_code == 429
    # From elsewhere, bob logs in.
    _, response = log_in("bob", PASSWORD, "203.0.113.9")
    assert response.status_code == 302


def test_a_successful_login_clears_the_failures(settings, django_user_model):
    django_user_model.objects.create_user("carol", password=PASSWORD)
    almost = ["198.51.100.1"] * (settings.AXES_FAILURE_LIMIT - 1)
    assert set(failures("carol", almost)) == {200}
    assert log_in("carol", PASSWORD, "198.51.100.1")[1].status_code == 302

    assert set(failures("carol", almost)) == {200}
    assert log_in("carol", PASSWORD, "198.51.100.1")[1].status_code == 302


def sign_up(username, address):
    return Client(REMOTE_ADDR=address).post(
        "/accounts/signup/", {"username": username, "password1": PASSWORD, "password2": PASSWORD}
    )


@override_settings(CHAT_SIGNUP_RATE="2/h")
def test_sign_ups_are_limited_per_client_address(django_user_model):
    assert [sign_up(f"user{n}", "198.51.100.1").status_code for n in range(2)] == [302, 302]

    response = sign_up("one-more", "198.51.100.1")

    assert response.status_code == 429
    assert b"Too many sign-ups" in response.content
    assert not django_user_model.objects.filter(username="one-more").exists()
    assert sign_up("elsewhere", "203.0.113.9").status_code == 302


def test_password_resets_are_not_offered_without_email(client):
    assert client.get("/accounts/password_reset/").status_code == 404
    assert b"Forgot your password" not in client.get(LOGIN).content


@override_settings(EMAIL_HOST="smtp.example.com", CHAT_PASSWORD_RESET_RATE="2/h")  # noqa: S106
def test_password_resets_with_email_are_limited_per_client_address(django_user_model):
    django_user_model.objects.create_user("dave", email="dave@example.com", password=PASSWORD)
    client = Client(REMOTE_ADDR="198.51.100.1")
    assert b"Forgot your password" in client.get(LOGIN).content

    statuses = [
        client.post("/accounts/password_reset/", {"email": "dave@example.com"}).status_code
        for _ in range(3)
    ]

    assert statuses == [302, 302, 429]
    assert len(mail.outbox) == 2


def test_passwords_are_hashed_as_djangos_default_hasher_does(settings):
    settings.PASSWORD_HASHERS = ["accounts.passwords.PBKDF2PasswordHasher"]
    encoded = make_password(PASSWORD)

    assert hashers.PBKDF2PasswordHasher().verify(PASSWORD, encoded)
    assert check_password(PASSWORD, encoded)


@pytest.mark.django_db(transaction=True)
def test_hashing_gives_the_database_connection_back_outside_transactions(settings, monkeypatch):
    settings.PASSWORD_HASHERS = ["accounts.passwords.PBKDF2PasswordHasher"]
    database = connections["default"]
    database.ensure_connection()
    closed_in_transaction = []
    monkeypatch.setattr(
        database, "close", lambda: closed_in_transaction.append(database.in_atomic_block)
    )

    make_password(PASSWORD)
    with transaction.atomic():
        make_password(PASSWORD)  # the transaction still needs its connection

    assert closed_in_transaction == [False]
