import pytest

from rooms.models import Message

pytestmark = pytest.mark.django_db


def test_messages_are_ordered_by_arrival():
    first = Message.objects.create(room="r", display_name="a", text="1")
    second = Message.objects.create(room="r", display_name="b", text="2")

    assert list(Message.objects.all()) == [first, second]


def test_message_keeps_its_author_name_when_the_user_is_deleted(django_user_model):
    user = django_user_model.objects.create_user("alice")
    message = Message.objects.create(room="r", user=user, display_name="alice", text="hi")

    user.delete()
    message.refresh_from_db()

    assert message.user is None
    assert message.display_name == "alice"


def test_messages_are_managed_in_the_admin(admin_client):
    Message.objects.create(room="서울", display_name="guest-1", text="hello")

    response = admin_client.get("/admin/rooms/message/")

    assert response.status_code == 200
    assert "서울" in response.content.decode()
