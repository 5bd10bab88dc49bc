"""Counts kept, not counted (rooms.counts): exact through every change to a message or a
marker, on several server processes and across a restart; and every request the room
list, the lobby, history and reads make costs the same number of queries whatever the
size of the history or of the list."""

import asyncio
import json
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api import tokens
from chat import protocol
from rooms import counts, history, membership
from rooms.models import Membership, Mention, Message, PublicRoom
from rooms.tests.makers import make_room, say, user
from testing.processes import manage, stop_process
from testing.servers import api_call

# Transactional: the chat's functions run in database_sync_to_async, which closes the
# connection of a test that holds it in a transaction, as PostgreSQL's tests do.
pytestmark = pytest.mark.django_db(transaction=True)


def counted(room, username):
    """What the counts of ``username`` in ``room`` are by their definition: the messages
    after their marker that are neither deleted nor theirs, and of those, the ones whose
    text mentions them."""
    seat = Membership.objects.get(room__name=room, user__username=username)
    unread = (
        Message.objects.filter(room=room, id__gt=seat.last_read_id, deleted=False)
        .exclude(user=seat.user)
        .values_list("text", flat=True)
    )
    mentions = [text for text in unread if username in protocol.mentioned_names(text)]
    return {"unread": len(unread), "mentions": len(mentions)}


def kept(room, username):
    seat = Membership.objects.get(room__name=room, user__username=username)
    return {"unread": seat.unread, "mentions": seat.mentions}


def check(room, *usernames, **expected):
    """Each member's kept counts are what counting finds; ``expected`` names some."""
    for username in usernames:
        assert kept(room, username) == counted(room, username), username
    for username, counts_expected in expected.items():
        assert kept(room, username) == counts_expected, username


def edit(message, author, text):
    return async_to_sync(history.edit_message)(
        room=message.room, message_id=message.id, user=user(author), guest_key="", text=text
    )


def erase(message, by):
    return async_to_sync(history.erase_message)(
        room=message.room, message_id=message.id, user=user(by), guest_key=""
    )


def test_counts_follow_posts_edits_deletes_and_reads():
    make_room("team", "alice", "bob", "carol")
    members = ("alice", "bob", "carol")

    hello = say("team", "alice", "hello")
    ping = say("team", "alice", "@bob and @CAROL, look")
    own = say("team", "bob", "mine, @bob")
    check("team", *members, bob={"unread": 2, "mentions": 1}, alice={"unread": 1, "mentions": 0})

    # An edit that takes a mention away, and one that adds one.
    edit(ping, "alice", "@carol, look")
    check("team", *members, bob={"unread": 2, "mentions": 0}, carol={"unread": 3, "mentions": 1})
    edit(hello, "alice", "hello @bob")
    check("team", *members, bob={"unread": 2, "mentions": 1})

    # Bob reads up to the ping: what is after it still counts.
    membership.mark_read(user("bob"), "team", ping.id)
    later = say("team", "alice", "@bob later")
    check("team", *members, bob={"unread": 1, "mentions": 1})

    # A deleted message no longer counts, read or not; deleting it again changes nothing.
    erase(later, "alice")
    erase(later, "alice")
    erase(ping, "alice")
    check("team", *members, bob={"unread": 0, "mentions": 0}, carol={"unread": 2, "mentions": 0})

    # An edit of a message already read changes nothing of the reader's.
    edit(hello, "alice", "hello again, @bob")
    check("team", *members, bob={"unread": 0, "mentions": 0})

    # Reading never goes back, and never further than the last message.
    membership.mark_read(user("carol"), "team", own.id + 1000)
    membership.mark_read(user("carol"), "team", hello.id)
    check("team", *members, carol={"unread": 0, "mentions": 0})
    assert Mention.objects.filter(message__deleted=True).count() == 0


def test_members_who_come_later_leave_and_come_back_are_counted_from_when_they_came():
    room = make_room("team", "alice")
    user("bob")
    say("team", "alice", "before bob, @bob")
    membership.invite(user("alice"), room, "bob")
    check("team", "bob", bob={"unread": 0, "mentions": 0})
    say("team", "alice", "@bob welcome")
    membership.remove(user("alice"), room, "bob", ban=True)
    say("team", "alice", "while bob is banned")
    membership.invite(user("alice"), room, "bob")

    check("team", "alice", "bob", bob={"unread": 2, "mentions": 1})


def test_a_guests_public_messages_and_the_probes_keep_no_counts():
    say("lobby", "guest-1")
    say("chat-probe", "guest-2")

    assert list(PublicRoom.objects.values_list("name", "listed")) == [("lobby", False)]
    assert not Membership.objects.exists()


def test_recount_finds_what_was_kept(capsys):
    make_room("team", "alice", "bob")
    for text in ["@bob one", "two", "@bob three"]:
        say("team", "alice", text)
    membership.mark_read(user("bob"), "team", Message.objects.order_by("id")[1].id)
    say("open", "guest-1")
    say("open", "guest-2")
    kept_before = (
        list(
            Membership.objects.order_by("pk").values_list("unread", "mentions", "last_message_id")
        ),
        list(PublicRoom.objects.values_list("name", "last_message_id", "listed")),
    )
    Membership.objects.update(unread=99, mentions=99, last_message_id=0)
    PublicRoom.objects.all().delete()

    call_command("chat_recount")

    assert "Recounted 2 memberships and 1 public rooms." in capsys.readouterr().out
    assert kept_before == (
        list(
            Membership.objects.order_by("pk").values_list("unread", "mentions", "last_message_id")
        ),
        list(PublicRoom.objects.values_list("name", "last_message_id", "listed")),
    )
    check("team", "bob", bob={"unread": 1, "mentions": 1})


# -- Several server processes, and a restart ------------------------------------------------


def request(server, path, key, body=None):
    # Thirty seconds: two processes write one SQLite file at once.
    return api_call(server, path, key, body, timeout=30)[1]


def keys_in_servers_database(env, *usernames):
    """An API token for each of ``usernames``, made with their accounts in the servers'
    database."""
    script = (
        "import json\n"
        "from django.contrib.auth import get_user_model\n"
        "from api import tokens\n"
        f"users = [get_user_model().objects.create_user(n) for n in {usernames!r}]\n"
        'print(json.dumps({u.username: tokens.issue(u, "tests")[1] for u in users}))'
    )
    printed = manage("shell", "-c", script, env=env, check=True).stdout
    return json.loads(printed.splitlines()[-1])


def test_counts_stay_exact_with_two_server_processes_writing_at_once_and_after_a_restart(
    start_server,
):
    # Each writer posts faster than the flood limit lets a person.
    unlimited = {"CHAT_RATE_LIMIT_BURST": "100"}
    servers = [start_server(**unlimited), start_server(**unlimited)]
    keys = keys_in_servers_database(start_server.env, "alice", "bob", "carol")
    room = {"name": "team", "private": True, "members": ["bob", "carol"]}
    request(servers[0], "/api/rooms/", keys["alice"], room)

    def write(server, name, count):
        for number in range(count):
            text = f"{number} @carol" if number % 3 else "hi"
            request(server, "/api/rooms/team/messages/", keys[name], {"message": text})

    def counts_seen(server):
        found = {}
        for name, key in keys.items():
            (team,) = request(server, "/api/rooms/", key)["rooms"]
            found[name] = (team["unread"], team["mentions"])
        return found

    async def both_at_once():
        await asyncio.gather(
            asyncio.to_thread(write, servers[0], "alice", 12),
            asyncio.to_thread(write, servers[1], "bob", 12),
        )

    asyncio.run(both_at_once())
    expected = {"alice": (12, 0), "bob": (12, 0), "carol": (24, 16)}
    assert counts_seen(servers[0]) == counts_seen(servers[1]) == expected

    # A server restarted reads the same counts, and goes on keeping them.
    stop_process(servers[0])
    restarted = start_server(**unlimited)
    assert counts_seen(restarted) == expected
    write(restarted, "alice", 3)
    assert counts_seen(restarted) == {"alice": (12, 0), "bob": (15, 0), "carol": (27, 18)}


# -- A fixed number of queries, whatever the size ---------------------------------------------


def queries(function, *arguments, **keywords):
    with CaptureQueriesContext(connection) as captured:
        function(*arguments, **keywords)
    return len(captured)


def join_rooms(username, count, *, start=0):
    for number in range(start, start + count):
        make_room(f"room {number}", "owner", username)
        say(f"room {number}", "owner", f"@{username} in room {number}")


def test_the_room_list_costs_the_same_for_one_room_and_for_fifty():
    bob = user("bob")
    client = Client()
    client.force_login(bob)
    key = tokens.issue(bob, "tests")[1]

    def api_list():
        response = client.get("/api/rooms/", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200

    def talk_directly(other):
        room = membership.direct_room(bob, user(other))
        say(room.name, other, f"@bob hi from {other}")

    def cost():
        # Each once before it is measured: a token notes when it was first used.
        requests = [lambda: membership.conversations(bob), lambda: client.get("/"), api_list]
        for request in requests:
            request()
        return [queries(request) for request in requests]

    join_rooms("bob", 1)
    talk_directly("carol")
    few = cost()
    join_rooms("bob", 49, start=1)
    for other in ("dave", "erin"):
        talk_directly(other)

    assert cost() == few
    page, _ = membership.conversations(bob)
    assert len(page) == membership.ROOMS_PAGE
    assert page[0] == {
        "name": page[0]["name"],
        "title": "erin",
        "direct": True,
        "role": "member",
        "unread": 1,
        "mentions": 1,
    }
    assert page[2]["title"] == "room 49"
    assert sum(room["direct"] for room in page) == 2  # carol's is on the next page


def test_a_long_room_list_comes_in_pages_most_recent_first(client):
    bob = user("bob")
    join_rooms("bob", membership.ROOMS_PAGE + 5)

    first, after = membership.conversations(bob)
    second, last = membership.conversations(bob, after=after)

    names = [room["name"] for room in first + second]
    assert names == [f"room {n}" for n in reversed(range(membership.ROOMS_PAGE + 5))]
    assert last is None
    client.force_login(bob)
    lobby = client.get("/")
    assert lobby.context["next_page"] == after
    assert f'href="?after={after}"'.encode() in lobby.content
    assert len(client.get("/", {"after": after}).context["conversations"]) == 5


@pytest.mark.parametrize("cursor", ["", "x", "1", "1.2.3", "-1.5", f"{2**64}.1", "9" * 5000])
def test_a_page_that_is_no_page_is_refused(client, cursor):
    bob = user("bob")
    client.force_login(bob)
    key = tokens.issue(bob, "tests")[1]

    with pytest.raises(protocol.ChatError):
        membership.conversations(bob, after=cursor)
    assert client.get("/", {"after": cursor}).status_code == 404
    answer = client.get(
        "/api/rooms/", {"after": cursor}, headers={"Authorization": f"Bearer {key}"}
    )
    assert (answer.status_code, answer.json()["code"]) == (400, protocol.INVALID_FRAME)


def test_the_lobbys_rooms_cost_the_same_for_one_room_and_for_a_hundred():
    say("room 0", "alice")
    one = queries(history.active_rooms)
    for number in range(1, 100):
        say(f"room {number}", "alice")

    assert queries(history.active_rooms) == one == 1
    assert history.active_rooms()[:2] == ["room 99", "room 98"]


def history_queries(room):
    first = async_to_sync(history.history_frame)(room)
    oldest_shown = first["messages"][0]["id"]
    last = first["messages"][-1]["id"]
    changed_since = timezone.now() - timedelta(minutes=5)
    return [
        queries(async_to_sync(history.history_frame), room),
        queries(async_to_sync(history.history_frame), room, before_id=oldest_shown),
        queries(async_to_sync(history.resume_frame), room, oldest_shown),
        queries(async_to_sync(history.resume_frame), room, last, changed_since=changed_since),
        queries(membership.mark_read, user("bob"), room, last),
        queries(say, room, "alice", "one more"),
    ]


def test_history_pages_resumes_reads_and_posts_cost_the_same_at_any_size():
    make_room("team", "alice", "bob")
    for number in range(120):
        say("team", "alice", f"message {number}")
    small = history_queries("team")
    Message.objects.bulk_create(
        Message(room="team", display_name="alice", user=user("alice"), text=f"old {number}")
        for number in range(2000)
    )
    for number in range(120):
        say("team", "alice", f"@bob message {number}")
    counts.recount()

    assert history_queries("team") == small
