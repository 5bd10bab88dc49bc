import json
import re
from datetime import UTC, datetime

import pytest

from chat import protocol
from chat.consumers import ChatConsumer
from testing.processes import PROJECT_DIR


def test_frame_without_type_is_a_chat_message():
    frame = protocol.parse_client_frame('{"message": "hi"}', max_message_length=10)

    assert frame == {"type": protocol.CHAT_MESSAGE, "message": "hi"}


def test_message_keeps_its_text_exactly():
    text = "  two\nlines\t"

    assert protocol.validate_message_text(text, max_length=100) == text


def test_message_at_the_maximum_length_is_accepted():
    assert protocol.validate_message_text("x" * 10, max_length=10)


def test_message_over_the_maximum_length_is_refused():
    with pytest.raises(protocol.ChatError) as excinfo:
        protocol.validate_message_text("x" * 11, max_length=10)
    assert excinfo.value.code == protocol.MESSAGE_TOO_LONG


def test_encode_keeps_unicode_readable():
    frame = protocol.chat_message(
        text="서울 🎉", user="guest-1", guest=True, ts=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    )

    encoded = protocol.encode(frame)

    assert "서울 🎉" in encoded
    assert json.loads(encoded) == {
        "type": "chat.message",
        "message": "서울 🎉",
        "user": "guest-1",
        "guest": True,
        "ts": "2026-01-02T03:04:05+00:00",
    }


def test_resume_frame_is_parsed():
    frame = protocol.parse_client_frame('{"type": "chat.resume", "after": 7}', max_message_length=1)

    assert frame == {"type": protocol.CHAT_RESUME, "after": 7}


def test_resume_frame_with_the_time_of_changes_is_parsed():
    frame = protocol.parse_client_frame(
        '{"type": "chat.resume", "after": 7, "changed_since": "2026-01-02T03:04:05.6+00:00"}',
        max_message_length=1,
    )

    assert frame["changed_since"].isoformat() == "2026-01-02T03:04:05.600000+00:00"


def documented_codes(header):
    """The first column of docs/protocol.md's table whose header row starts with
    ``header``."""
    readme = (PROJECT_DIR / "docs" / "protocol.md").read_text(encoding="utf-8")
    rows = readme.split(f"| {header} |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    return {row.split("|")[1].strip().strip("`") for row in rows}


def test_the_protocol_reference_documents_every_error_code_and_no_other():
    assert documented_codes("Error code") == protocol.ERROR_CODES


def test_the_protocol_reference_documents_every_close_code_and_no_other():
    assert documented_codes("Close code") == {str(code) for code in protocol.CLOSE_CODES}


def test_every_frame_type_a_client_may_send_has_a_handler_and_no_other_does():
    handlers = {protocol.handler_name(frame_type) for frame_type in protocol.CLIENT_FRAMES}
    assert all(callable(getattr(ChatConsumer, handler, None)) for handler in handlers)
    assert {name for name in dir(ChatConsumer) if name.startswith("on_")} == handlers


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"message": "", "client_id": "c1"}', protocol.INVALID_MESSAGE),
        ('{"type": "shout", "client_id": "c1"}', protocol.UNKNOWN_TYPE),
        ('{"type": "chat.resume", "after": "x", "client_id": "c1"}', protocol.INVALID_FRAME),
    ],
)
def test_a_refused_frame_names_its_client_id(text, code):
    with pytest.raises(protocol.ChatError) as excinfo:
        protocol.parse_client_frame(text, max_message_length=10)

    assert (excinfo.value.code, excinfo.value.client_id) == (code, "c1")


# -- Mentions: one pattern, for the server and the browser client ----------------------------

# Who, in which text, is mentioned or not.
MENTIONS = [
    ("bob", "@bob hi", True),
    ("bob", "hi @Bob!", True),
    ("bob", "@bob", True),
    ("bob", "ask @bob", True),
    ("bob", "(@bob)", True),
    ("bob", "mail a@bob.com", False),
    ("bob", "@bobby", False),
    ("bob", "@bob_2", False),
    ("bob", "@@bob", False),
    ("bob", "bob", False),
    ("김철수", "@김철수 안녕하세요", True),
    ("김철수", "회의 시작해요 @김철수", True),
    ("김철수", "@김철수님", False),
    ("김철수", "메일@김철수", False),
    ("a.b+c-d", "@A.B+C-D, hi", True),
    ("a.b+c-d", "@aXb+c-d", False),
]


@pytest.mark.parametrize(("username", "text", "mentioned"), MENTIONS)
def test_a_mention_is_the_name_after_an_at_as_a_word(username, text, mentioned):
    found = re.search(protocol.mention_pattern(username), text, re.IGNORECASE)

    assert (found is not None) is mentioned
    # The names the counts of mentions are kept by (rooms.counts): the same.
    assert (username.lower() in protocol.mentioned_names(text)) is mentioned


def test_a_text_made_to_mention_everything_asks_bounded_work():
    text = "@" + ".@" * 2000
    names = protocol.mentioned_names(text)

    assert len(names) <= protocol.MAX_MENTION_STARTS * protocol.MAX_USERNAME_LENGTH
    assert protocol.mentioned_names("@" + "a" * 200) == set()
    assert "a" * 150 in protocol.mentioned_names("@" + "a" * 150 + "!")


def test_the_browser_clients_mention_pattern_differs_only_in_its_word_characters():
    for username in {username for username, _, _ in MENTIONS}:
        pattern = protocol.mention_pattern(username).replace(r"\w", r"\p{L}\p{N}_")
        assert protocol.mention_pattern(username, for_javascript=True) == pattern


@pytest.mark.browser
def test_the_browser_finds_the_same_mentions(browser):
    page = browser.new_page()
    try:
        found = page.evaluate(
            "(cases) => cases.map(([pattern, text]) => new RegExp(pattern, 'iu').test(text))",
            [
                [protocol.mention_pattern(username, for_javascript=True), text]
                for username, text, _ in MENTIONS
            ],
        )
    finally:
        page.close()

    assert found == [mentioned for _, _, mentioned in MENTIONS]


def test_the_page_hands_the_client_the_pattern_of_its_users_mentions():
    constants = {
        "max_message_length": 10,
        "frames_per_second": 1,
        "frame_burst": 1,
        "keeps_history": True,
        "guest_prefix": "guest-",
        "deletes_any": False,
    }

    assert protocol.client_constants(**constants)["mention"] is None
    mention = protocol.client_constants(**constants, mentioned_as="bob")["mention"]
    assert mention == protocol.mention_pattern("bob", for_javascript=True)
