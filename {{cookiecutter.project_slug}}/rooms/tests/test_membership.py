"""Private rooms, direct conversations, read markers and moderation (rooms.membership):
who may be in a room, on every path into it, and what its moderators may do."""

import asyncio
import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async
from django.test import AsyncClient, Client, override_settings
from django.utils import timezone
from websockets.asyncio.client import connect as open_websocket

from api import tokens
from chat import protocol, stores
from rooms import history, membership
from rooms.models import Membership, Message, ModerationAction, Room
from rooms.tests.makers import asay, make_room, say, user
from testing.processes import ORIGIN, manage
from testing.servers import HttpSession, receive, room_url, wait_closed

pytestmark = pytest.mark.django_db(transaction=True)


private_room = database_sync_to_async(make_room)


@database_sync_to_async
def moderate(action, actor, room, *arguments):
    """Call membership.``action`` as the user ``actor`` in the room named ``room``."""
    return getattr(membership, action)(user(actor), Room.objects.get(name=room), *arguments)


@database_sync_to_async
def seat_of(room, username):
    return Membership.objects.get(room__name=room, user__username=username)


@database_sync_to_async
def actions(room):
    return list(
        ModerationAction.objects.filter(room__name=room)
        .order_by("id")
        .values_list("actor__username", "action", "target__username")
    )


@pytest.fixture
def cookies():
    """The session cookie of a user, logged in, by name; the user made if need be."""

    @database_sync_to_async
    def cookie(username):
        client = Client()
        client.force_login(user(username))
        return f"sessionid={client.cookies['sessionid'].value}"

    return cookie


async def refused(connect, room, cookie=None):
    """Open a socket that the server refuses: the forbidden error, then 4403."""
    socket = await connect(room, cookie=cookie)
    frame = await socket.receive_json_from()
    assert (frame["type"], frame["code"]) == (protocol.ERROR, protocol.FORBIDDEN)
    assert await socket.receive_output() == {
        "type": "websocket.close",
        "code": protocol.CLOSE_FORBIDDEN,
    }


async def closed_as_forbidden(socket):
    """The socket is told it may not stay, then closed with 4403."""
    while (frame := await socket.receive_json_from()).get("type") != protocol.ERROR:
        pass
    assert frame["code"] == protocol.FORBIDDEN
    assert await socket.receive_output() == {
        "type": "websocket.close",
        "code": protocol.CLOSE_FORBIDDEN,
    }


# -- Who may open a private room -----------------------------------------------------------


async def test_members_chat_in_a_private_room_and_others_are_refused_before_joining(
    connect, join, cookies
):
    await private_room("team", "alice", "bob")
    alice = await join("team", cookie=await cookies("alice"))
    bob = await join("team", cookie=await cookies("bob"))
    assert (await bob.receive_presence_listing("bob"))["users"] == ["alice", "bob"]

    await refused(connect, "team", await cookies("mallory"))
    await refused(connect, "team")  # a guest

    # Nobody refused was ever in the room: no presence of theirs.
    assert await bob.receive_nothing(presence_too=True)
    await alice.send_json_to({"message": "members only"})
    assert (await bob.receive_json_from())["message"] == "members only"


async def test_direct_conversation_names_are_kept_for_their_pair(connect, cookies):
    # Before the pair opens it, nobody may take the name as a public room.
    await refused(connect, "dm:1:2", await cookies("mallory"))


async def test_a_name_with_public_messages_cannot_become_private():
    await database_sync_to_async(Message.objects.create)(room="open", display_name="x", text="hi")
    with pytest.raises(protocol.ChatError) as taken:
        await private_room("open", "alice")
    assert taken.value.code == protocol.ROOM_TAKEN


async def test_sockets_open_to_a_name_made_private_leave_unless_members(join, cookies):
    bob = await join("soon-private", cookie=await cookies("bob"))
    guest = await join("soon-private")

    await private_room("soon-private", "alice", "bob")

    await closed_as_forbidden(guest)
    assert await bob.receive_nothing()


def test_the_page_of_a_private_room_is_its_members_alone(client, django_user_model):
    make_room("team", "alice", "bob")
    client.force_login(user("mallory"))
    refused_page = client.get("/chat/team/")
    assert refused_page.status_code == 403
    assert b"This room is private" in refused_page.content

    client.force_login(user("bob"))
    page = client.get("/chat/team/")
    assert page.status_code == 200
    assert page.context["seat"].role == membership.MEMBER
    assert Client().get("/chat/team/").status_code == 403


def test_private_rooms_are_never_in_the_public_lists(client):
    make_room("secret", "alice", "bob")
    say("secret", "alice", "x")
    say("open", "alice", "y")

    assert history.active_rooms() == ["open"]
    assert b"secret" not in client.get("/").content


def test_the_lobby_lists_a_members_conversations_with_unread_counts(client):
    make_room("team", "alice", "bob")
    for text in ["hello", "@bob look", "bye"]:
        say("team", "alice", text)
    say("team", "bob", "mine")

    client.force_login(user("bob"))
    (team,) = client.get("/").context["conversations"]

    assert (team["name"], team["unread"], team["mentions"]) == ("team", 3, 1)


@pytest.mark.parametrize(
    ("text", "mentioned"),
    [
        ("@bob hi", True),
        ("hi @Bob!", True),
        ("mail bob@example.com", False),
        ("@bobby", False),
        ("@@bob", False),
    ],
)
def test_mentions_are_whole_usernames_after_an_at(text, mentioned):
    make_room("team", "alice", "bob")
    say("team", "alice", text)

    (team,), _ = membership.conversations(user("bob"))
    assert team["mentions"] == int(mentioned)


# -- Direct conversations ----------------------------------------------------------------------


def test_a_pair_has_one_direct_conversation_whoever_opens_it(client):
    alice, bob = user("alice"), user("bob")
    client.force_login(alice)
    # Offered on a GET, made on the person's POST.
    assert client.get("/dm/bob/").status_code == 200
    assert not Room.objects.exists()
    opened = client.post("/dm/bob/")

    other = Client()
    other.force_login(bob)
    assert other.get("/dm/alice/")["Location"] == opened["Location"]
    room = Room.objects.get()
    assert {m.user for m in room.memberships.all()} == {alice, bob}
    assert membership.title(room, alice) == "bob"
    assert [c["title"] for c in membership.conversations(bob)[0]] == ["alice"]


async def test_a_third_user_is_refused_from_a_direct_conversation(connect, join, cookies):
    room = await database_sync_to_async(
        lambda: membership.direct_room(user("alice"), user("bob"))
    )()
    alice = await join(room.name, cookie=await cookies("alice"))
    bob = await join(room.name, cookie=await cookies("bob"))

    await refused(connect, room.name, await cookies("mallory"))

    await bob.send_json_to({"message": "just us"})
    assert (await alice.receive_json_from())["message"] == "just us"


# -- Read markers -------------------------------------------------------------------------------


async def test_a_read_in_one_tab_reaches_the_users_other_tabs(join, cookies):
    await private_room("team", "alice", "bob")
    message = await asay("team", "alice", "x")
    here = await join("team", cookie=await cookies("bob"))
    elsewhere = await join("lobby", cookie=await cookies("bob"))
    alice = await join("team", cookie=await cookies("alice"))

    await here.send_json_to({"type": "chat.read", "id": message.id, "client_id": "r-1"})

    for tab in (here, elsewhere):
        read = await tab.receive_json_from()
        assert read == {"type": "chat.read", "room": "team", "id": message.id, "client_id": "r-1"}
    assert (await seat_of("team", "bob")).last_read_id == message.id
    assert await alice.receive_nothing()  # nobody else's business


async def test_a_read_marker_never_moves_back(join, cookies):
    await private_room("team", "alice", "bob")
    earlier, later = [await asay("team", "alice", text) for text in ("one", "two")]
    bob = await join("team", cookie=await cookies("bob"))
    await bob.send_json_to({"type": "chat.read", "id": later.id})
    await bob.receive_json_from()

    await bob.send_json_to({"type": "chat.read", "id": earlier.id})

    assert (await bob.receive_json_from())["id"] == later.id


async def test_public_rooms_and_guests_keep_no_read_marker(join):
    guest = await join("lobby")
    await guest.send_json_to({"type": "chat.read", "id": 3})
    assert await guest.receive_nothing()


@pytest.mark.parametrize("read_id", [-1, "7", None, True])
async def test_a_bad_read_gets_an_error(join, read_id):
    socket = await join("lobby")
    await socket.send_json_to({"type": "chat.read", "id": read_id, "client_id": "r"})
    error = await socket.receive_json_from()
    assert (error["code"], error["client_id"]) == (protocol.INVALID_FRAME, "r")


# -- Moderation ----------------------------------------------------------------------------------


async def test_a_moderator_deletes_anyones_message_and_it_is_recorded(join, cookies):
    await private_room("team", "alice", "bob", "carol")
    await moderate("set_role", "alice", "team", "carol", "moderator")
    bob = await join("team", cookie=await cookies("bob"))
    carol = await join("team", cookie=await cookies("carol"))
    await bob.send_json_to({"message": "spam"})
    message = await bob.receive_json_from()
    await carol.receive_json_from()

    await carol.send_json_to({"type": "chat.delete", "id": message["id"]})

    for socket in (bob, carol):
        assert (await socket.receive_json_from())["type"] == protocol.CHAT_DELETE
    assert (await actions("team"))[-1] == ("carol", "delete_message", "bob")
    # Made a plain member again, she may not: the right is read on each delete.
    await moderate("set_role", "alice", "team", "carol", "member")
    await bob.send_json_to({"message": "more spam"})
    second = await bob.receive_json_from()
    await carol.receive_json_from()
    await carol.send_json_to({"type": "chat.delete", "id": second["id"]})
    assert (await carol.receive_json_from())["code"] == protocol.FORBIDDEN


async def test_a_muted_member_is_told_how_long_and_their_message_goes_nowhere(join, cookies):
    await private_room("team", "alice", "bob")
    bob = await join("team", cookie=await cookies("bob"))
    alice = await join("team", cookie=await cookies("alice"))

    await moderate("mute", "alice", "team", "bob", 600)
    await bob.send_json_to({"message": "let me speak", "client_id": "m-1"})

    error = await bob.receive_json_from()
    assert (error["code"], error["client_id"]) == (protocol.MUTED, "m-1")
    assert 590 < error["retry_after"] <= 600
    assert "10\xa0minutes" in error["detail"]  # timeuntil, unbroken
    assert await alice.receive_nothing()
    assert (await actions("team"))[-1] == ("alice", "mute", "bob")

    await moderate("mute", "alice", "team", "bob", 0)
    await bob.send_json_to({"message": "thanks"})
    assert (await alice.receive_json_from())["message"] == "thanks"


async def test_a_removed_member_is_closed_at_once_and_a_banned_one_stays_out(
    connect, join, cookies
):
    await private_room("team", "alice", "bob", "carol")
    room = await database_sync_to_async(Room.objects.get)(name="team")
    bob_tabs = [await join("team", cookie=await cookies("bob")) for _ in range(2)]
    carol = await join("team", cookie=await cookies("carol"))

    await moderate("remove", "alice", "team", "bob", True)

    for tab in bob_tabs:
        await closed_as_forbidden(tab)
    assert await carol.receive_nothing()
    await refused(connect, "team", await cookies("bob"))
    # Not by the invite link either.
    key = await moderate("make_invite_link_key", "alice", "team")
    with pytest.raises(protocol.ChatError):
        await moderate("join_by_link", "bob", "team")
    assert (await actions("team"))[-2:] == [
        ("alice", "ban", "bob"),
        ("alice", "link_created", None),
    ]
    assert await database_sync_to_async(membership.room_invited_to)(key) == room


@pytest.mark.parametrize(
    ("actor_role", "target_role", "allowed"),
    [
        ("owner", "moderator", True),
        ("owner", "member", True),
        ("moderator", "member", True),
        ("moderator", "moderator", False),
        ("moderator", "owner", False),
        ("member", "member", False),
    ],
)
def test_who_may_moderate_whom(actor_role, target_role, allowed):
    room = make_room("team", "owner", "actor", "target")
    Membership.objects.filter(user__username="actor").update(role=actor_role)
    Membership.objects.filter(user__username="target").update(role=target_role)
    if allowed:
        membership.mute(user("actor"), room, "target", 60)
    else:
        with pytest.raises(protocol.ChatError) as refusal:
            membership.mute(user("actor"), room, "target", 60)
        assert refusal.value.code == protocol.FORBIDDEN


def test_the_members_page_invites_mutes_bans_and_makes_invite_links(client):
    alice = user("alice")
    user("bob")
    membership.create_private_room(alice, "team")
    client.force_login(alice)

    client.post("/members/team/", {"action": "invite", "username": "@bob"})
    client.post("/members/team/", {"action": "mute", "username": "bob", "minutes": "10"})
    seat = Membership.objects.get(user__username="bob")
    assert seat.muted_until > timezone.now() + timedelta(minutes=9)
    linked = client.post("/members/team/", {"action": "link"})
    link = linked.context["invite_link"]
    client.post("/members/team/", {"action": "ban", "username": "bob"})

    assert Membership.objects.get(user__username="bob").banned
    newcomer = Client()
    newcomer.force_login(user("carol"))
    key = link.rstrip("/").rsplit("/", 1)[-1]
    assert newcomer.post(f"/invite/{key}/")["Location"] == "/chat/team/"
    client.post("/members/team/", {"action": "revoke_link"})
    assert newcomer.get(f"/invite/{key}/").status_code == 404
    page = client.get("/members/team/")
    assert [a.action for a in page.context["log"]][:3] == ["link_revoked", "join_by_link", "ban"]


def test_the_members_page_is_not_shown_to_others(client):
    make_room("team", "alice")
    client.force_login(user("mallory"))
    assert client.get("/members/team/").status_code == 404
    assert client.post("/members/team/", {"action": "leave"}).status_code == 404


def test_the_last_owner_cannot_leave_a_room_without_an_owner():
    room = make_room("team", "alice", "bob")
    with pytest.raises(protocol.ChatError):
        membership.leave(user("alice"), room)
    membership.leave(user("bob"), room)
    assert list(room.memberships.values_list("user__username", flat=True)) == ["alice"]


def test_the_admin_shows_rooms_and_the_moderation_log(admin_client):
    room = make_room("team", "alice", "bob")
    membership.mute(user("alice"), room, "bob", 60)
    assert admin_client.get(f"/admin/rooms/room/{room.pk}/change/").status_code == 200
    log = admin_client.get("/admin/rooms/moderationaction/")
    assert b"mute" in log.content
    assert admin_client.get("/admin/rooms/moderationaction/add/").status_code == 403


# -- The HTTP API ---------------------------------------------------------------------------------


def key_of(username):
    return tokens.issue(user(username), "tests")[1]


async def api(method, path, key, body=None):
    headers = {"Authorization": f"Bearer {key}"}
    if method == "post":
        response = await AsyncClient().post(
            path, json.dumps(body), content_type="application/json", headers=headers
        )
    else:
        response = await AsyncClient().get(path, headers=headers)
    return response.status_code, response.json()


async def test_the_api_makes_private_rooms_and_lists_them_with_unread_counts():
    alice = await database_sync_to_async(key_of)("alice")
    bob = await database_sync_to_async(key_of)("bob")

    made = await api("post", "/api/rooms/", alice, {"name": "ops", "members": ["bob"]})
    assert made == (
        201,
        {
            "name": "ops",
            "title": "ops",
            "private": True,
            "direct": False,
            "unread": 0,
            "mentions": 0,
        },
    )
    await api("post", "/api/rooms/ops/messages/", alice, {"message": "@bob deploy?"})

    status, listed = await api("get", "/api/rooms/", bob)
    assert (status, listed["rooms"][0]) == (
        200,
        {
            "name": "ops",
            "title": "ops",
            "private": True,
            "direct": False,
            "unread": 1,
            "mentions": 1,
        },
    )
    assert (await api("post", "/api/rooms/", bob, {"name": "ops"}))[0] == 409


async def test_the_api_refuses_a_private_room_to_non_members():
    await private_room("ops", "alice")
    mallory = await database_sync_to_async(key_of)("mallory")
    quoted = quote("ops")

    for method, body in [("get", None), ("post", {"message": "let me in"})]:
        status, error = await api(method, f"/api/rooms/{quoted}/messages/", mallory, body)
        assert (status, error["code"]) == (403, protocol.FORBIDDEN)
    status, listed = await api("get", "/api/rooms/", mallory)
    assert "ops" not in [room["name"] for room in listed["rooms"]]
    status, error = await api("post", "/api/rooms/", mallory, {"name": "x", "members": ["nobody"]})
    assert (status, error["code"]) == (404, protocol.NOT_FOUND)


async def test_the_api_refuses_a_muted_members_post_with_the_time_left():
    await private_room("ops", "alice", "bob")
    await moderate("mute", "alice", "ops", "bob", 120)
    bob = await database_sync_to_async(key_of)("bob")

    response = await AsyncClient().post(
        "/api/rooms/ops/messages/",
        json.dumps({"message": "hi"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {bob}"},
    )

    assert (response.status_code, response.json()["code"]) == (403, protocol.MUTED)
    assert 110 <= int(response["Retry-After"]) <= 120


# -- On every server process -----------------------------------------------------------------------

SET_UP_THE_ROOM = """
from django.contrib.auth import get_user_model
from rooms import membership
users = get_user_model().objects
for name in ["alice", "bob", "carol"]:
    users.create_user(name, password="a long password 123")
membership.create_private_room(users.get(username="alice"), "team", ["bob", "carol"])
"""


async def test_a_ban_closes_the_members_sockets_on_every_process(start_server):
    one = start_server()
    two = start_server() if stores.shared_by_processes() else one
    manage("shell", "-c", SET_UP_THE_ROOM, env=start_server.env, check=True)
    browsers = {}
    for name in ["alice", "bob", "carol"]:
        browsers[name] = HttpSession()
        await asyncio.to_thread(
            browsers[name].post,
            one,
            "/accounts/login/",
            {"username": name, "password": "a long password 123"},
        )

    def socket(name, server):
        return open_websocket(
            room_url(server, "team"),
            origin=ORIGIN,
            additional_headers=browsers[name].cookie_header(),
        )

    async with socket("bob", two) as bob, socket("carol", two) as carol:
        for websocket in (bob, carol):
            await receive(websocket, protocol.CHAT_HISTORY)
        await asyncio.to_thread(
            browsers["alice"].post, one, "/members/team/", {"action": "ban", "username": "bob"}
        )
        # Pushed to the other process through the room's group, not found by polling.
        assert (await receive(bob, protocol.ERROR))["code"] == protocol.FORBIDDEN
        assert await wait_closed(bob) == protocol.CLOSE_FORBIDDEN
        await carol.send(json.dumps({"message": "still here"}))
        assert (await receive(carol, protocol.CHAT_MESSAGE))["message"] == "still here"
    async with socket("bob", one) as again:
        assert (await receive(again, protocol.ERROR))["code"] == protocol.FORBIDDEN
        assert await wait_closed(again) == protocol.CLOSE_FORBIDDEN


# -- What the review of this module found -----------------------------------------------------


def test_an_owner_cannot_take_another_owners_role_and_invites_keep_roles():
    room = make_room("team", "alice", "bob", "carol")
    membership.set_role(user("alice"), room, "bob", "owner")
    membership.set_role(user("alice"), room, "carol", "moderator")

    with pytest.raises(protocol.ChatError):
        membership.set_role(user("bob"), room, "alice", "member")
    membership.invite(user("alice"), room, "carol")

    roles = dict(room.memberships.values_list("user__username", "role"))
    assert roles == {"alice": "owner", "bob": "owner", "carol": "moderator"}


def test_members_who_come_later_start_with_the_history_read():
    room = make_room("team", "alice")
    Message.objects.create(room="team", display_name="alice", text="before bob")
    user("bob")
    membership.invite(user("alice"), room, "bob")

    (team,), _ = membership.conversations(user("bob"))
    assert team["unread"] == 0


@pytest.mark.parametrize("minutes", ["", "-5", "10000000000000", "9"])
def test_the_members_page_mutes_only_for_the_times_it_offers(client, minutes):
    make_room("team", "alice", "bob")
    client.force_login(user("alice"))

    page = client.post(
        "/members/team/", {"action": "mute", "username": "bob", "minutes": minutes}, follow=True
    )

    assert page.status_code == 200
    assert Membership.objects.get(user__username="bob").muted_until is None


def test_a_mute_longer_than_the_longest_is_the_longest():
    room = make_room("team", "alice", "bob")
    membership.mute(user("alice"), room, "bob", 10**15)
    until = Membership.objects.get(user__username="bob").muted_until
    assert until <= timezone.now() + membership.MAX_MUTE


async def test_a_read_marker_goes_no_further_than_the_last_message(join, cookies):
    await private_room("team", "alice", "bob")
    message = await asay("team", "alice")
    bob = await join("team", cookie=await cookies("bob"))

    await bob.send_json_to({"type": "chat.read", "id": message.id + 1000})

    assert (await bob.receive_json_from())["id"] == message.id


async def test_a_muted_member_cannot_edit_either(join, cookies):
    await private_room("team", "alice", "bob")
    bob = await join("team", cookie=await cookies("bob"))
    await bob.send_json_to({"message": "fine words"})
    message = await bob.receive_json_from()
    await moderate("mute", "alice", "team", "bob", 60)

    await bob.send_json_to({"type": "chat.edit", "id": message["id"], "message": "other words"})

    refusal = await bob.receive_json_from()
    assert (refusal["code"], refusal["id"]) == (protocol.MUTED, message["id"])
    assert refusal["retry_after"] > 0


def test_the_probes_room_stays_public():
    with pytest.raises(protocol.ChatError) as taken:
        make_room("chat-probe", "mallory")
    assert taken.value.code == protocol.ROOM_TAKEN


def test_the_admin_neither_renames_nor_deletes_a_private_room(admin_client):
    room = make_room("team", "alice")
    page = admin_client.get(f"/admin/rooms/room/{room.pk}/change/")
    assert "name" not in page.context["adminform"].form.fields
    assert admin_client.get(f"/admin/rooms/room/{room.pk}/delete/").status_code == 403
    message = Message.objects.create(room="team", display_name="alice", text="x")
    page = admin_client.get(f"/admin/rooms/message/{message.pk}/change/")
    assert "room" not in page.context["adminform"].form.fields


async def test_a_name_known_as_public_is_refused_at_once_once_made_private(connect, join, cookies):
    # Whether a room is private is kept in the cache, so that public rooms cost no trip to
    # the database: a room made private must say so there at once.
    guest = await join("was-public")
    await guest.disconnect()

    await private_room("was-public", "alice")

    await refused(connect, "was-public", await cookies("mallory"))


@override_settings(CHAT_RATE_LIMIT_BURST=3, CHAT_RATE_LIMIT_PER_SECOND=0.01)
async def test_a_flood_of_reads_is_limited_and_leaves_the_counts_exact(join, cookies):
    await private_room("team", "alice", "bob")
    said = [await asay("team", "alice", f"@bob {number}") for number in range(3)]
    bob = await join("team", cookie=await cookies("bob"))

    # The last first: the first read let through marks them all.
    for message in list(reversed(said)) * 3:
        await bob.send_json_to({"type": "chat.read", "id": message.id, "client_id": "r"})
    answers = [await bob.receive_json_from() for _ in range(len(said) * 3)]

    # Refusals come at once, reads once the user's sockets are told: in either order.
    reads = [answer for answer in answers if answer["type"] == protocol.CHAT_READ]
    assert reads and {read["id"] for read in reads} == {said[-1].id}
    assert protocol.RATE_LIMITED in {answer.get("code") for answer in answers}
    (team,), _ = await database_sync_to_async(lambda: membership.conversations(user("bob")))()
    assert (team["unread"], team["mentions"]) == (0, 0)
