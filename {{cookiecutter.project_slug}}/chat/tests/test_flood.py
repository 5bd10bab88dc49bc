import pytest
from django.test import override_settings

from chat import protocol
from chat.limits.flood import TokenBucket
from chat.stores.memory import MemoryFloodLimit
from testing.fixtures import nothing_arrives

pytestmark = pytest.mark.django_db(transaction=True)


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_bucket_allows_a_burst_then_the_sustained_rate():
    clock = FakeClock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)

    assert [bucket.take() for _ in range(3)] == [0, 0, 0]
    assert bucket.take() == pytest.approx(0.5)

    clock.now = 0.5
    assert bucket.take() == 0
    assert bucket.take() == pytest.approx(0.5)


def test_bucket_refills_no_higher_than_the_burst():
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=2, clock=clock)

    clock.now = 1000
    assert [bucket.take() for _ in range(2)] == [0, 0]
    assert bucket.take() > 0


async def test_a_bucket_outlives_its_sockets_until_it_has_refilled():
    clock = FakeClock()
    limit = MemoryFloodLimit(clock)

    assert await limit.take("user:1", rate=1, burst=1) == 0
    assert await limit.take("user:1", rate=1, burst=1) > 0
    clock.now = 10  # both full again, and forgotten when another sender takes a token
    assert await limit.take("user:2", rate=1, burst=1) == 0

    assert list(limit.buckets) == ["user:2"]


@override_settings(CHAT_RATE_LIMIT_BURST=3, CHAT_RATE_LIMIT_PER_SECOND=0.01)
async def test_flooding_gets_rate_limited_and_others_still_get_through(join, session_cookie):
    flooder = await join("lobby", cookie=await session_cookie("flooder"))
    bob = await join("lobby", cookie=await session_cookie("bob"))

    for number in range(3):
        await flooder.send_json_to({"message": f"flood {number}"})
        assert (await bob.receive_json_from())["message"] == f"flood {number}"
        await flooder.receive_json_from()
    await flooder.send_json_to({"message": "one too many"})

    frame = await flooder.receive_json_from()
    assert frame["type"] == "error"
    assert frame["code"] == protocol.RATE_LIMITED
    assert frame["retry_after"] > 0
    assert await nothing_arrives(bob, flooder)
    await bob.send_json_to({"message": "bob is not limited"})
    assert (await flooder.receive_json_from())["message"] == "bob is not limited"


@override_settings(CHAT_RATE_LIMIT_BURST=2, CHAT_RATE_LIMIT_PER_SECOND=0.01)
async def test_typing_notices_do_not_use_up_the_flood_limit(join):
    # A client sends one as its person starts to type each message.
    alice = await join("lobby")
    for _ in range(5):
        await alice.send_json_to({"type": "typing"})

    for number in range(2):
        await alice.send_json_to({"message": str(number)})
        assert (await alice.receive_json_from())["message"] == str(number)


@override_settings(CHAT_RATE_LIMIT_BURST=2, CHAT_RATE_LIMIT_PER_SECOND=0.01)
async def test_a_users_sockets_share_the_limit(join, session_cookie):
    cookie = await session_cookie("alice")
    first = await join("lobby", cookie=cookie)
    second = await join("other room", cookie=cookie)

    await first.send_json_to({"message": "1"})
    await second.send_json_to({"message": "2"})
    assert (await first.receive_json_from())["message"] == "1"
    assert (await second.receive_json_from())["message"] == "2"
    await second.send_json_to({"message": "3"})

    assert (await second.receive_json_from())["code"] == protocol.RATE_LIMITED


@override_settings(
    CHAT_RATE_LIMIT_BURST=1, CHAT_RATE_LIMIT_PER_SECOND=0.01, CHAT_RATE_LIMIT_STRIKES=3
)
async def test_persistent_flooding_closes_the_socket(join):
    flooder = await join("lobby")
    await flooder.send_json_to({"message": "allowed"})
    await flooder.receive_json_from()

    for _ in range(2):
        await flooder.send_json_to({"message": "refused"})
        assert (await flooder.receive_json_from())["code"] == protocol.RATE_LIMITED
    await flooder.send_json_to({"message": "last straw"})

    assert await flooder.receive_output() == {
        "type": "websocket.close",
        "code": protocol.CLOSE_TOO_MANY_MESSAGES,
    }


@override_settings(CHAT_RATE_LIMIT_BURST=1, CHAT_RATE_LIMIT_PER_SECOND=0.01)
async def test_a_message_over_the_limit_is_refused_by_its_client_id(join):
    # So that the client knows which of its pending messages was not sent.
    alice = await join("lobby")
    await alice.send_json_to({"message": "first", "client_id": "c-1"})
    assert (await alice.receive_json_from())["client_id"] == "c-1"

    await alice.send_json_to({"message": "second", "client_id": "c-2"})

    frame = await alice.receive_json_from()
    assert (frame["code"], frame["client_id"]) == (protocol.RATE_LIMITED, "c-2")


@override_settings(CHAT_RATE_LIMIT_BURST=2, CHAT_RATE_LIMIT_PER_SECOND=0.01)
async def test_reconnecting_does_not_refill_the_budget(join, session_cookie):
    cookie = await session_cookie("alice")
    first = await join("lobby", cookie=cookie)
    for number in range(2):
        await first.send_json_to({"message": str(number)})
        assert (await first.receive_json_from())["message"] == str(number)
    await first.disconnect()

    again = await join("lobby", cookie=cookie)
    await again.send_json_to({"message": "after reconnecting"})

    assert (await again.receive_json_from())["code"] == protocol.RATE_LIMITED


@override_settings(CHAT_RATE_LIMIT_BURST=1, CHAT_RATE_LIMIT_PER_SECOND=0.01)
async def test_a_client_without_cookies_is_limited_by_its_address(join):
    first = await join("lobby")
    await first.send_json_to({"message": "one"})
    assert (await first.receive_json_from())["message"] == "one"

    second = await join("lobby")
    await second.send_json_to({"message": "two"})

    assert (await second.receive_json_from())["code"] == protocol.RATE_LIMITED
