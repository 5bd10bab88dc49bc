"""The HTTP API: tokens, rooms, history pages, and posting as a user."""

import asyncio
from io import StringIO
from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import DatabaseError
from django.test import AsyncClient, override_settings
from websockets.asyncio.client import connect as open_websocket

from api import tokens
from api.models import ApiToken
from chat import protocol, stores
from chat.outages import LAYER_OUTAGES
from rooms.models import Message
from testing.processes import ORIGIN, manage
from testing.servers import api_call, receive, room_url

pytestmark = pytest.mark.django_db(transaction=True)


def make_key(username="bot", **user_fields):
    user, _ = get_user_model().objects.get_or_create(username=username, defaults=user_fields)
    return tokens.issue(user, "tests")[1]


token_key = database_sync_to_async(make_key)


@pytest.fixture
async def key():
    return await token_key()


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


async def get(path, key):
    return await AsyncClient().get(path, headers=bearer(key))


async def post(path, key, body):
    return await AsyncClient().post(
        path, body, content_type="application/json", headers=bearer(key)
    )


@database_sync_to_async
def add_messages(room, count):
    Message.objects.bulk_create(
        Message(room=room, display_name="alice", text=f"message {number}")
        for number in range(count)
    )


@pytest.mark.parametrize("authorization", [None, "Bearer chat_wrong", "Basic Ym90OnB3"])
async def test_a_request_without_a_valid_token_is_refused(authorization):
    headers = {"Authorization": authorization} if authorization else {}

    response = await AsyncClient().get("/api/rooms/", headers=headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize("outage", [DatabaseError, *LAYER_OUTAGES])
async def test_an_outage_outside_the_views_gets_json_503(key, monkeypatch, outage):
    # The database or Redis failing the token's check (or the flood limit, or a room's
    # members): JSON, as every answer of the API.
    def fail(key):
        raise outage("away")

    monkeypatch.setattr(tokens, "user_for", fail)

    response = await get("/api/rooms/", key)

    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert response.json()["code"] == protocol.UNAVAILABLE


async def test_the_token_of_an_inactive_user_is_refused():
    key = await token_key("gone", is_active=False)

    assert (await get("/api/rooms/", key)).status_code == 401


async def test_a_revoked_token_is_refused(key):
    await database_sync_to_async(ApiToken.objects.all().delete)()

    assert (await get("/api/rooms/", key)).status_code == 401


async def test_only_a_hash_of_the_key_is_kept(key):
    token = await database_sync_to_async(ApiToken.objects.get)()

    assert key.startswith(token.prefix)
    assert key not in (token.key_hash, token.prefix)
    assert token.key_hash == tokens.key_hash(key)


async def test_rooms_lists_the_rooms_with_recent_messages(key):
    await add_messages("quiet", 1)  # one guest alone: not listed, as in the lobby
    await post("/api/rooms/busy/messages/", key, {"message": "hello"})

    response = await get("/api/rooms/", key)

    assert response.status_code == 200
    busy = {"name": "busy", "title": "busy", "private": False, "direct": False}
    assert response.json() == {"rooms": [busy]}


def test_messages_come_in_pages_as_on_the_socket(client):
    # The sync test client: the async one garbles paths that are not ASCII.
    key = make_key()
    Message.objects.bulk_create(
        Message(room="서울/café", display_name="alice", text=f"message {number}")
        for number in range(5)
    )
    path = f"/api/rooms/{quote('서울/café')}/messages/"

    page = client.get(f"{path}?limit=2", headers=bearer(key)).json()

    assert page["type"] == protocol.CHAT_HISTORY
    assert [m["message"] for m in page["messages"]] == ["message 3", "message 4"]
    assert page["more"] is True
    assert "edited_at" not in page["messages"][0]
    before = page["messages"][0]["id"]
    older = client.get(f"{path}?before={before}", headers=bearer(key)).json()
    assert [m["message"] for m in older["messages"]] == ["message 0", "message 1", "message 2"]
    assert older["more"] is False


@pytest.mark.parametrize(
    "query", ["before=-1", "before=x", f"before={2**63}", "limit=0", "limit=many"]
)
async def test_a_bad_page_request_gets_an_error(key, query):
    response = await get(f"/api/rooms/lobby/messages/?{query}", key)

    assert response.status_code == 400
    assert response.json()["code"] == protocol.INVALID_FRAME


async def test_a_bad_room_name_is_not_found(key):
    response = await get("/api/rooms/a/../b/messages/", key)

    assert response.status_code == 404
    assert response.json()["code"] == protocol.INVALID_ROOM


async def test_a_posted_message_reaches_the_rooms_sockets_as_the_tokens_user(join, key):
    alice = await join("lobby")

    response = await post("/api/rooms/lobby/messages/", key, {"message": "from a bot"})

    assert response.status_code == 201
    posted = response.json()
    frame = await alice.receive_json_from()
    assert frame == posted
    assert (frame["message"], frame["user"], frame["guest"]) == ("from a bot", "bot", False)
    saved = await database_sync_to_async(Message.objects.select_related("user").get)(id=frame["id"])
    assert saved.user.username == "bot"


async def test_posting_the_same_client_id_again_posts_once(join, key):
    alice = await join("lobby")
    body = {"message": "once", "client_id": "deploy-42"}

    first = await post("/api/rooms/lobby/messages/", key, body)
    again = await post("/api/rooms/lobby/messages/", key, body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert first.json()["client_id"] == "deploy-42"
    assert await database_sync_to_async(Message.objects.count)() == 1
    assert (await alice.receive_json_from())["message"] == "once"
    assert await alice.receive_nothing()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, protocol.INVALID_MESSAGE),
        ({"message": 7}, protocol.INVALID_MESSAGE),
        ({"message": "  "}, protocol.INVALID_MESSAGE),
        ({"message": "nul\x00"}, protocol.INVALID_MESSAGE),
        ({"message": "x" * 101}, protocol.MESSAGE_TOO_LONG),
        ({"message": "hi", "client_id": ""}, protocol.INVALID_FRAME),
        ({"message": "hi", "client_id": "x" * 65}, protocol.INVALID_FRAME),
        ({"message": "hi", "client_id": 5}, protocol.INVALID_FRAME),
    ],
)
@override_settings(CHAT_MAX_MESSAGE_LENGTH=100)
async def test_a_bad_message_gets_an_error_and_nothing_is_posted(key, body, code):
    response = await post("/api/rooms/lobby/messages/", key, body)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not await database_sync_to_async(Message.objects.exists)()


async def test_a_body_that_is_not_json_gets_an_error(key):
    response = await AsyncClient().post(
        "/api/rooms/lobby/messages/", "{", content_type="application/json", headers=bearer(key)
    )

    assert response.status_code == 400
    assert response.json()["code"] == protocol.INVALID_JSON


@override_settings(CHAT_RATE_LIMIT_BURST=2, CHAT_RATE_LIMIT_PER_SECOND=0.01)
async def test_the_api_shares_the_users_flood_limit_with_their_sockets(join, session_cookie):
    alice = await join("lobby", cookie=await session_cookie("alice"))
    await alice.send_json_to({"message": "from the socket"})
    await alice.receive_json_from()
    key = await token_key("alice")

    assert (await get("/api/rooms/", key)).status_code == 200
    refused = await post("/api/rooms/lobby/messages/", key, {"message": "one too many"})

    assert refused.status_code == 429
    assert refused.json()["code"] == protocol.RATE_LIMITED
    assert int(refused["Retry-After"]) >= 1
    assert refused.json()["retry_after"] > 0


@override_settings(CHAT_RATE_LIMIT_BURST=2, CHAT_RATE_LIMIT_PER_SECOND=0.01)
async def test_guessing_keys_is_limited_by_address():
    for _ in range(2):
        assert (await get("/api/rooms/", "chat_guess")).status_code == 401

    assert (await get("/api/rooms/", "chat_guess")).status_code == 429


async def test_the_schema_and_its_documentation_are_published():
    schema = (await AsyncClient().get("/api/openapi.json")).json()

    assert set(schema["paths"]) == {"/api/rooms/", "/api/rooms/{room}/messages/"}
    assert (await AsyncClient().get("/api/docs")).status_code == 200


def test_chat_token_makes_lists_and_revokes_tokens(django_user_model, client):
    django_user_model.objects.create_user("bot")
    made = StringIO()
    call_command("chat_token", "bot", "--name", "deploys", stdout=made)
    key = made.getvalue().strip()
    assert client.get("/api/rooms/", headers=bearer(key)).status_code == 200

    listed = StringIO()
    call_command("chat_token", "bot", "--list", stdout=listed)
    assert listed.getvalue().startswith(key[: tokens.SHOWN_LENGTH])
    assert "deploys" in listed.getvalue()
    assert key not in listed.getvalue()

    call_command("chat_token", "bot", "--revoke", key[: tokens.SHOWN_LENGTH], stdout=StringIO())
    assert client.get("/api/rooms/", headers=bearer(key)).status_code == 401


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (["nobody"], "There is no user"),
        (["inactive"], "inactive"),
        (["bot", "--revoke", "chat_nope"], "has no token"),
    ],
)
def test_chat_token_says_what_is_wrong(django_user_model, arguments, error):
    django_user_model.objects.create_user("bot")
    django_user_model.objects.create_user("inactive", is_active=False)

    with pytest.raises(CommandError, match=error):
        call_command("chat_token", *arguments)


def test_a_token_made_in_the_admin_shows_its_key_once(admin_client, django_user_model):
    bot = django_user_model.objects.create_user("bot")

    response = admin_client.post(
        "/admin/api/apitoken/add/", {"user": bot.pk, "name": "alerts"}, follow=True
    )

    (shown,) = [str(m) for m in response.context["messages"] if "shown only now" in str(m)]
    key = shown.rsplit(" ", 1)[-1]
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.key_hash) == (bot, "alerts", tokens.key_hash(key))


def test_staff_make_tokens_for_themselves_alone(client, django_user_model):
    # A token acts as its user, who may be a superuser or a member of private rooms.
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__endswith="_apitoken"))
    boss = django_user_model.objects.create_superuser("boss")
    tokens.issue(boss, "boss's own")
    client.force_login(staff)

    refused = client.post("/admin/api/apitoken/add/", {"user": boss.pk, "name": "mine now"})
    assert refused.status_code == 200  # the form again, with its error
    assert refused.context["adminform"].form.errors.keys() == {"user"}
    made = client.post("/admin/api/apitoken/add/", {"user": staff.pk, "name": "my bot"})
    assert made.status_code == 302
    listed = client.get("/admin/api/apitoken/")
    assert [token.user for token in listed.context["cl"].result_list] == [staff]


def key_in_the_servers_database(env):
    """A new user's token, made with manage.py in the database the servers use (with
    SQLite, a file of their own)."""
    manage(
        "createsuperuser",
        "--noinput",
        "--username",
        "bot",
        "--email",
        "bot@example.com",
        env=env,
        check=True,
    )
    return manage("chat_token", "bot", env=env, check=True).stdout.strip()


def post_to_server(server, room, key, body):
    return api_call(server, f"/api/rooms/{quote(room)}/messages/", key, body)


async def test_a_message_posted_to_one_server_process_reaches_sockets_on_every_one(
    start_server,
):
    # With Redis, through the other process; with the in-memory layer, the one process.
    one = start_server()
    two = start_server() if stores.shared_by_processes() else one
    key = await asyncio.to_thread(key_in_the_servers_database, start_server.env)
    room = "서울 café/🎉"
    async with open_websocket(room_url(two, room), origin=ORIGIN) as alice:
        await receive(alice, protocol.CHAT_HISTORY)

        status, posted = await asyncio.to_thread(
            post_to_server, one, room, key, {"message": "deployed", "client_id": "d-1"}
        )

        assert status == 201
        assert await receive(alice, protocol.CHAT_MESSAGE) == posted
