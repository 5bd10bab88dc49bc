"""Private rooms while Redis is away (rooms.membership): a member removed stays removed."""

import pytest
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model

from rooms import membership

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_removal_stands_when_the_room_cannot_be_told(monkeypatch):
    users = get_user_model().objects
    alice, _ = users.create_user("alice"), users.create_user("bob")
    room = membership.create_private_room(alice, "team", ["bob"])

    async def redis_away(*arguments):
        raise ConnectionError("Redis is away")

    monkeypatch.setattr(type(get_channel_layer()), "group_send", redis_away)
    # Its sockets are closed with 4503 while Redis is away, and refused when they come back.
    membership.remove(alice, room, "bob")

    assert not room.memberships.filter(user__username="bob").exists()
