"""Bad frames get an error frame and the socket goes on working."""

import pytest
from django.test import override_settings

from chat import protocol

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not json", protocol.INVALID_JSON),
        ("[" * 100_000, protocol.INVALID_JSON),
        ("1" * 10_000, protocol.INVALID_JSON),
        ('["a list"]', protocol.INVALID_FRAME),
        ('"a string"', protocol.INVALID_FRAME),
        ("{}", protocol.INVALID_MESSAGE),
        ('{"message": null}', protocol.INVALID_MESSAGE),
        ('{"message": 42}', protocol.INVALID_MESSAGE),
        ('{"message": ""}', protocol.INVALID_MESSAGE),
        ('{"message": " \\n\\t "}', protocol.INVALID_MESSAGE),
        ('{"message": "nul \\u0000 byte"}', protocol.INVALID_MESSAGE),
        ('{"message": "lone \\ud800 surrogate"}', protocol.INVALID_MESSAGE),
        ('{"type": "shout", "message": "hi"}', protocol.UNKNOWN_TYPE),
        ('{"type": ["chat.message"], "message": "hi"}', protocol.UNKNOWN_TYPE),
    ],
)
async def test_bad_frame_gets_error_and_socket_keeps_working(join, text, code):
    alice = await join("lobby")
    bob = await join("lobby")

    await alice.send_to(text_data=text)

    frame = await alice.receive_json_from()
    assert frame["type"] == "error"
    assert frame["code"] == code
    assert frame["detail"]
    assert await bob.receive_nothing()
    await alice.send_json_to({"message": "still works"})
    assert (await bob.receive_json_from())["message"] == "still works"


async def test_binary_frame_gets_error(join):
    alice = await join("lobby")

    await alice.send_to(bytes_data=b"\x00\x01")

    assert (await alice.receive_json_from())["code"] == protocol.BINARY_NOT_SUPPORTED


@override_settings(CHAT_MAX_MESSAGE_LENGTH=10)
async def test_message_over_the_maximum_length_is_refused(join):
    alice = await join("lobby")

    await alice.send_json_to({"message": "x" * 11})
    assert (await alice.receive_json_from())["code"] == protocol.MESSAGE_TOO_LONG

    await alice.send_json_to({"message": "x" * 10})
    assert (await alice.receive_json_from())["message"] == "x" * 10


async def test_text_that_looks_like_html_is_sent_as_text(join):
    alice = await join("lobby")

    await alice.send_json_to({"message": "<img src=x onerror=alert(1)>"})

    assert (await alice.receive_json_from())["message"] == "<img src=x onerror=alert(1)>"


async def test_an_error_names_the_frame_it_answers(join):
    alice = await join("lobby")

    await alice.send_json_to({"message": " ", "client_id": "c-9"})

    frame = await alice.receive_json_from()
    assert (frame["code"], frame["client_id"]) == (protocol.INVALID_MESSAGE, "c-9")
