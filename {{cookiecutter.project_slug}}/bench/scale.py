"""What the chat's requests cost as its history grows: the same requests against a small
and a large database, side by side.

A scratch database (made and dropped here, as the tests' is, on your DATABASE_URL's
server: PostgreSQL, or a SQLite file) is seeded through the ORM with --sizes messages:
a user who is a member of --rooms private rooms with every message of them unread, 500
public rooms, and one busy public room with half the history. Each request below is
made --repeat times at each size, in this process, through Django's test client or the
functions the consumer awaits; the script prints the median time and the number of
queries of each at each size, and the ratio of the times. The database grows from the
first size to the next, so the requests are made against the same rows plus more.

    python bench/scale.py --sizes 10000 1000000

A request whose time grows with the history would show a ratio near the ratio of the
sizes; the chat's stay near 1, and their queries the same (rooms/tests/test_counts.py
asserts the counts). Exits 1 if a request makes more queries at one size than at
another.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import django
import processes

# The limits that keep one person from flooding the chat would measure themselves here.
os.environ.update(processes.LOAD_TEST_LIMITS)
django.setup()

from asgiref.sync import async_to_sync  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_databases,
    setup_test_environment,
    teardown_databases,
)
from django.utils import timezone  # noqa: E402

from api import tokens  # noqa: E402
from rooms import counts, history, membership  # noqa: E402
from rooms.models import Membership, Message, Room  # noqa: E402

PUBLIC_ROOMS = 500
BATCH = 5000
BUSY = "busy"


def seed(grow_to, rooms, member):
    """Add messages until there are ``grow_to``: half in the busy room, a fifth spread
    over the member's private rooms (every tenth mentioning them), the rest over the
    public rooms, each written by two guests."""
    have = Message.objects.count()
    wanted = grow_to - have
    private = Room.objects.filter(memberships__user=member).values_list("name", flat=True)
    private = list(private)
    shares = [
        (BUSY, wanted // 2, "guest-a"),
        *((name, wanted // 5 // len(private), "owner") for name in private),
        *(
            (f"public {n}", (wanted - wanted // 2 - wanted // 5) // PUBLIC_ROOMS, "guest-b")
            for n in range(PUBLIC_ROOMS)
        ),
    ]
    owner = get_user_model().objects.get(username="owner")
    batch = []
    for room, count, writer in shares:
        for number in range(count):
            batch.append(
                Message(
                    room=room,
                    user=owner if writer == "owner" else None,
                    guest=writer != "owner",
                    display_name=writer if writer == "owner" or number % 2 else f"{writer}-2",
                    text=f"@{member.username} look" if number % 10 == 0 else f"message {number}",
                )
            )
            if len(batch) == BATCH:
                Message.objects.bulk_create(batch)
                batch = []
    Message.objects.bulk_create(batch)
    # Seeded around the chat: work out what it would have kept.
    counts.recount()


def prepare(rooms):
    users = get_user_model().objects
    owner = users.create_user("owner")
    member = users.create_user("member")
    loner = users.create_user("loner")
    for number in range(rooms):
        membership.create_private_room(owner, f"private {number}", [member.username])
    return member, loner


def median_ms(request, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        request()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def query_count(request):
    with CaptureQueriesContext(connection) as captured:
        request()
    return len(captured)


def requests(member, loner):
    """The requests measured, by name: each a function of no arguments."""
    member_key = tokens.issue(member, "bench")[1]
    loner_key = tokens.issue(loner, "bench")[1]
    browser = Client()
    browser.force_login(member)
    api = Client()
    messages = Message.objects.filter(room=BUSY)
    newest = messages.order_by("-id").values_list("id", flat=True).first()
    oldest = messages.order_by("id").values_list("id", flat=True).first()
    # One message read at a time, each in a room of its own: the first unread of each.
    unread = iter(
        [
            (seat.room.name, first)
            for seat in Membership.objects.filter(user=member).select_related("room")
            if seat.room.name != "private 0"
            for first in Message.objects.filter(room=seat.room.name, id__gt=seat.last_read_id)
            .order_by("id")
            .values_list("id", flat=True)[:1]
        ]
    )

    def rooms_of(key):
        def list_rooms():
            answer = api.get("/api/rooms/", headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code == 200, answer.content

        return list_rooms

    def lobby():
        assert browser.get("/").status_code == 200

    def read_one():
        room, message_id = next(unread)
        membership.mark_read(member, room, message_id)

    def post(room, user):
        def post_message():
            async_to_sync(history.save_message)(
                room=room, user=user, display_name=user.username, text="one more"
            )

        return post_message

    since = timezone.now() - timedelta(minutes=1)
    return {
        f"GET /api/rooms/, a member of {Membership.objects.filter(user=member).count()} rooms": (
            rooms_of(member_key)
        ),
        "GET /api/rooms/, a member of none": rooms_of(loner_key),
        "the lobby, for that member": lobby,
        "a join's first history page": lambda: async_to_sync(history.history_frame)(BUSY),
        "an old history page": lambda: async_to_sync(history.history_frame)(
            BUSY, before_id=oldest + 100
        ),
        "a resume with changes since": lambda: async_to_sync(history.resume_frame)(
            BUSY, newest - 10, changed_since=since
        ),
        "a read marker moved": read_one,
        "a message to the busy public room": post(BUSY, member),
        "a message to a private room": post(
            "private 0", get_user_model().objects.get(username="owner")
        ),
    }


def measure(sizes, rooms, repeat):
    member, loner = prepare(rooms)
    results = {}
    for size in sizes:
        started = time.perf_counter()
        seed(size, rooms, member)
        seeded = Message.objects.count()
        print(f"seeded {seeded:,} messages in {time.perf_counter() - started:.0f} s")
        for name, request in requests(member, loner).items():
            request()  # once first: caches, a token's first use
            results.setdefault(name, []).append((median_ms(request, repeat), query_count(request)))
    return results


def report(sizes, results):
    columns = "".join(f"{size:>12,} msgs  queries" for size in sizes)
    print(f"\n{'request':<44}{columns}  ratio")
    for name, found in results.items():
        cells = "".join(f"{ms:>15.1f} ms {queries:>6}" for ms, queries in found)
        ratio = found[-1][0] / found[0][0]
        print(f"{name:<44}{cells}  {ratio:.2f}x")
    member, loner = list(results.values())[:2]
    print(
        f"\nthe member's room list against the list of a member of none, at "
        f"{sizes[-1]:,} messages: {member[-1][0] / loner[-1][0]:.2f}x"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--rooms", type=int, default=200, help="the member's private rooms")
    parser.add_argument("--repeat", type=int, default=20, help="times each request is made")
    options = parser.parse_args()
    if sorted(options.sizes) != options.sizes:
        parser.error("--sizes must grow")

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        # A file, as production's: the scratch database would otherwise be in memory.
        scratch = Path(tempfile.mkdtemp(prefix="chat-scale-")) / "scale.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(scratch)
    setup_test_environment()
    made = setup_databases(verbosity=0, interactive=False)
    try:
        results = measure(options.sizes, options.rooms, options.repeat)
    finally:
        teardown_databases(made, verbosity=0)
    report(options.sizes, results)
    grew = [name for name, found in results.items() if len({q for _, q in found}) > 1]
    if grew:
        sys.exit(f"queries grew with the history: {', '.join(grew)}")


if __name__ == "__main__":
    main()
