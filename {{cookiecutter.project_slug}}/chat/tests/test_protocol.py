import json
from datetime import UTC, datetime

import pytest

from chat import protocol


def test_frame_without_type_is_a_chat_message():
    frame = protocol.parse_client_frame('{"message": "hi"}', max_message_length=10)

    assert frame == {"type": protocol.CHAT_MESSAGE, "message": "hi"}


def test_message_keeps_its_text_exactly():
    text = "  two\nlines\t"

    assert protocol.validate_message_text(text, max_length=100) == text


def test_message_at_the_maximum_length_is_accepted():
    assert protocol.validate_message_text("x" * 10, max_length=10)


def test_message_over_the_maximum_length_is_refused():
    with pytest.raises(protocol.ProtocolError) as excinfo:
        protocol.validate_message_text("x" * 11, max_length=10)
    assert excinfo.value.code == protocol.MESSAGE_TOO_LONG


def test_encode_keeps_unicode_readable():
    frame = protocol.chat_message(
        text="서울 🎉", user="guest-1", ts=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    )

    encoded = protocol.encode(frame)

    assert "서울 🎉" in encoded
    assert json.loads(encoded) == {
        "type": "chat.message",
        "message": "서울 🎉",
        "user": "guest-1",
        "ts": "2026-01-02T03:04:05+00:00",
    }


def test_resume_frame_is_parsed():
    frame = protocol.parse_client_frame('{"type": "chat.resume", "after": 7}', max_message_length=1)

    assert frame == {"type": protocol.CHAT_RESUME, "after": 7}
