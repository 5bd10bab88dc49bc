import json
import re
from urllib.parse import quote

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django.utils.html import escape

from chat import identity, protocol
from chat.rooms_backend import history

pytestmark = pytest.mark.django_db


def test_lobby_offers_a_room_form(client):
    response = client.get("/")

    assert response.status_code == 200
    assert b'name="room"' in response.content


@pytest.mark.parametrize("room", ["서울", "café crème", "🎉", "a/b"])
def test_lobby_sends_a_typed_room_name_to_its_room(client, room):
    response = client.get("/", {"room": room})

    assert response.status_code == 302
    assert response.url == reverse("chat:room", kwargs={"room": room})
    assert client.get(response.url).context["room"] == room


def test_lobby_explains_an_invalid_room_name(client):
    response = client.get("/", {"room": "x" * 201})

    assert response.status_code == 200
    assert b"at most 200 characters" in response.content


def test_the_room_list_shows_the_rooms_this_browser_opened_most_recent_first(client):
    for room in ["one", "two", "one", "서울"]:
        client.get(f"/chat/{quote(room)}/")

    assert client.get("/").context["recent_rooms"] == ["서울", "one", "two"]
    page = client.get("/chat/two/")
    assert page.context["recent_rooms"] == ["two", "서울", "one"]
    assert 'aria-current="page">two</a>' in page.text
    assert 'href="/">← All rooms</a>' in page.text


def test_room_page_shows_the_room_and_who_you_are(client):
    response = client.get(f"/chat/{quote('서울')}/")

    assert response.status_code == 200
    assert "서울" in response.content.decode()
    assert response.context["display_name"].startswith("guest-")


def test_room_name_is_escaped_in_the_page(client):
    response = client.get(f"/chat/{quote('<script>alert(1)</script>', safe='')}/")

    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content


def test_room_page_has_no_inline_script(client):
    content = client.get("/chat/lobby/").content.decode()

    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", content, flags=re.DOTALL)
    # Data for the client, which browsers never run, and the client itself, from a file.
    assert [attributes for attributes, _ in scripts] == [
        ' id="chat-protocol" type="application/json"',
        ' id="chat-texts" type="application/json"',
        ' type="module" src="/static/chat/room.js"',
    ]
    assert scripts[-1][1] == ""


@override_settings(
    CHAT_MAX_MESSAGE_LENGTH=123, CHAT_RATE_LIMIT_PER_SECOND=1.5, CHAT_RATE_LIMIT_BURST=7
)
def test_room_page_hands_the_client_the_servers_protocol(client):
    content = client.get("/chat/lobby/").content.decode()

    data = re.search(r'<script id="chat-protocol" type="application/json">(.*?)</script>', content)
    constants = json.loads(data.group(1))
    assert constants == protocol.client_constants(
        max_message_length=123,
        frames_per_second=1.5,
        frame_burst=7,
        keeps_history=history.KEEPS_HISTORY,
        guest_prefix=identity.GUEST_PREFIX,
        deletes_any=False,
    )
    assert constants["close"]["invalid_room"] == protocol.CLOSE_INVALID_ROOM
    assert 'maxlength="123"' in content


def test_the_page_tells_staff_they_may_delete_others_messages(client, django_user_model):
    staff = django_user_model.objects.create_user("moderator", is_staff=True)
    client.force_login(staff)
    content = client.get("/chat/lobby/").content.decode()

    data = re.search(r'<script id="chat-protocol" type="application/json">(.*?)</script>', content)
    # Where nothing is saved, there is nothing to delete.
    assert json.loads(data.group(1))["deletes_any"] is history.KEEPS_HISTORY


def test_guest_name_lasts_for_the_session(client):
    first = client.get("/chat/one/").context["display_name"]
    second = client.get("/chat/two/").context["display_name"]

    assert first == second


def test_invalid_room_name_is_not_found(client):
    assert client.get(f"/chat/{'x' * 201}/").status_code == 404


@override_settings(CHAT_ALLOW_ANONYMOUS=False)
def test_room_page_asks_anonymous_visitors_to_log_in(client):
    response = client.get("/chat/lobby/")

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_logged_in_user_sees_their_username(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("alice"))

    response = client.get("/chat/lobby/")

    assert response.context["display_name"] == "alice"
    assert b"alice" in response.content


@pytest.mark.parametrize("page", ["login", "accounts:signup", "chat:lobby"])
def test_pages_are_titled_with_the_projects_name_not_the_host(client, page):
    # Django's auth views put the host in the context as "site_name".
    response = client.get(reverse(page), HTTP_HOST="127.0.0.1")

    assert response.status_code == 200
    assert escape(settings.SITE_NAME) in response.text.split("</title>")[0]
    assert "127.0.0.1" not in response.text


def test_signup_creates_an_account_and_logs_in(client, django_user_model):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "newcomer",
            "password1": "a-long-enough-pass-123",
            "password2": "a-long-enough-pass-123",
            "next": "/chat/lobby/",
        },
    )

    assert response.status_code == 302
    assert response.url == "/chat/lobby/"
    assert django_user_model.objects.filter(username="newcomer").exists()
    assert client.get("/chat/lobby/").context["display_name"] == "newcomer"


def test_signup_shows_form_errors(client):
    response = client.post(
        reverse("accounts:signup"), {"username": "x", "password1": "a", "password2": "b"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors


def test_signup_does_not_redirect_to_other_sites(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "newcomer",
            "password1": "a-long-enough-pass-123",
            "password2": "a-long-enough-pass-123",
            "next": "https://evil.example/",
        },
    )

    assert response.url == reverse("chat:lobby")


def test_log_out_returns_to_the_lobby(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("alice"))

    response = client.post(reverse("logout"))

    assert response.url == reverse("chat:lobby")
    assert client.get("/chat/lobby/").context["display_name"].startswith("guest-")
