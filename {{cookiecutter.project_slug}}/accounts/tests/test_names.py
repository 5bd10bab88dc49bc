"""Names cannot be spoofed: sign-up refuses usernames that could pass for a guest's or
for a taken one, and frames and pages tell guests apart."""

import pytest
from django.test import Client

from accounts.forms import lookalike_key

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a long enough password 123"  # noqa: S105


def sign_up(username):
    """The sign-up form's errors for ``username``; none if the account was made."""
    response = Client().post(
        "/accounts/signup/", {"username": username, "password1": PASSWORD, "password2": PASSWORD}
    )
    if response.status_code == 302:
        return []
    return response.context["form"].errors["username"]


@pytest.mark.parametrize(
    "username",
    [
        "Alice",  # case
        "\uff21\uff2c\uff29\uff23\uff25",  # full-width ALICE, which Django folds to ASCII
        "\u0430lice",  # a Cyrillic a
        "al\u200bice",  # a zero-width space
        "aIice",  # a capital I for the l
        "a1ice",  # a digit one for the l
    ],
)
def test_a_username_that_passes_for_a_taken_one_is_refused(django_user_model, username):
    django_user_model.objects.create_user("alice")

    assert sign_up(username)
    assert django_user_model.objects.count() == 1


def test_lookalikes_are_refused_whichever_was_taken_first(django_user_model):
    django_user_model.objects.create_user("modem")
    django_user_model.objects.create_user("carol")

    assert sign_up("modern")  # "rn" reads as "m"
    assert sign_up("caro1")
    assert lookalike_key("modern") == lookalike_key("modem")


@pytest.mark.parametrize("username", ["guest-3fa2c1", "Guest-anything"])
def test_a_username_that_looks_like_a_guest_name_is_refused(username):
    assert sign_up(username) == ["Names starting with “guest-” are for guests."]


def test_distinct_usernames_are_accepted(django_user_model):
    assert sign_up("alice") == []
    assert sign_up("bob_smith") == []
    assert django_user_model.objects.count() == 2


async def test_frames_say_whether_the_sender_is_a_guest(join, session_cookie):
    guest = await join("lobby")
    alice = await join("lobby", cookie=await session_cookie("alice"))

    await guest.send_json_to({"message": "from a guest"})
    assert (await alice.receive_json_from())["guest"] is True
    assert (await guest.receive_json_from())["message"] == "from a guest"
    await alice.send_json_to({"message": "from an account"})
    assert (await guest.receive_json_from())["guest"] is False
    assert (await alice.receive_json_from())["message"] == "from an account"
    await guest.send_json_to({"type": "typing"})
    assert (await alice.receive_json_from())["guest"] is True


def test_the_room_page_tells_the_client_whether_its_user_is_a_guest(client, django_user_model):
    assert 'data-guest="true"' in client.get("/chat/lobby/").content.decode()
    client.force_login(django_user_model.objects.create_user("alice"))
    assert 'data-guest="false"' in client.get("/chat/lobby/").content.decode()
