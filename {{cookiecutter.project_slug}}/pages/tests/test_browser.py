"""The room page in a real browser: Debian's Chromium, driven by Playwright, against real
daphne processes. Run with `pytest -m browser`."""

import re
import signal
import time

import pytest
from django.conf import settings
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from chat import protocol
from chat.rooms_backend import history
from testing.browser import (
    PHONE,
    action,
    in_the_servers_database,
    messages,
    refuse_messages,
    saved_items,
    screenshot,
    send,
)
from testing.processes import stop_process, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_two_people_in_a_room_talk_and_other_rooms_stay_apart(server, open_room, room):
    alice = open_room(server, room)
    bob = open_room(server, room)
    elsewhere = open_room(server, f"{room}-elsewhere")

    send(alice, "hello from alice")
    expect(messages(bob)).to_have_text(["hello from alice"])
    send(bob, "hi alice")
    expect(messages(alice)).to_have_text(["hello from alice", "hi alice"])
    send(elsewhere, "not for you")
    expect(messages(elsewhere)).to_have_text(["not for you"])

    # Sent after the message elsewhere, so anything of that room's that reached this one
    # would show before it.
    send(bob, "after the other room")
    expect(messages(alice)).to_have_text(["hello from alice", "hi alice", "after the other room"])
    expect(alice.locator("#messages li.unsent")).to_have_count(0)
    # The history on the page is not read out as news; later messages are.
    expect(alice.locator("#messages[role=log]")).to_have_attribute("aria-busy", "false")
    # Each time shows the full date and time on hover.
    expect(alice.locator("#messages time").first).to_have_attribute("title", re.compile(r"\d{4}"))
    # The room list beside the conversation, with the way back to the lobby.
    expect(alice.locator(".room-list a[aria-current=page]")).to_have_text(room)
    assert alice.evaluate("fetch(document.querySelector('link[rel=icon]').href).then((r) => r.ok)")
    screenshot(alice)
    alice.get_by_role("link", name="← All rooms").click()
    expect(alice.get_by_role("link", name=room, exact=True)).to_be_visible()


def test_html_in_a_message_is_shown_as_text_and_runs_nothing(server, open_room, room):
    alice = open_room(server, room)
    bob = open_room(server, room)

    send(alice, "<img src=x onerror=alert(1)>")

    expect(messages(bob)).to_have_text(["<img src=x onerror=alert(1)>"])
    assert bob.locator("#messages img").count() == 0
    send(alice, "and after it")
    expect(messages(bob)).to_have_text(["<img src=x onerror=alert(1)>", "and after it"])
    assert alice.dialogs == [] and bob.dialogs == []


def test_sending_works_where_crypto_random_uuid_does_not_exist(server, open_room, room):
    # A plain-HTTP page served from a LAN address is no secure context, and browsers give
    # it no crypto.randomUUID.
    alice = open_room(server, room, init_script="delete Crypto.prototype.randomUUID;")
    bob = open_room(server, room)
    assert alice.evaluate("typeof crypto.randomUUID") == "undefined"

    send(alice, "no uuid needed")
    send(alice, "nor for the second")

    expect(messages(bob)).to_have_text(["no uuid needed", "nor for the second"])
    expect(alice.locator("#messages li.unsent")).to_have_count(0)
    expect(messages(alice)).to_have_text(["no uuid needed", "nor for the second"])


def test_presence_lists_both_people_and_drops_one_whose_tab_closes(server, open_room, room):
    alice = open_room(server, room)
    bob = open_room(server, room)
    expect(alice.locator("#presence li")).to_have_count(2)
    expect(bob.locator("#presence li")).to_have_count(2)

    bob.close()

    expect(alice.locator("#presence li")).to_have_count(1)


def test_the_room_works_on_a_phone_sized_screen(server, open_room, room):
    phone = open_room(server, f"Café ☕ {room}", screen=PHONE)
    desktop = open_room(server, f"Café ☕ {room}")
    expect(phone.locator("#presence li")).to_have_count(2)

    # One long word must wrap, not widen the page; Korean wraps between words.
    long_word = "a" * 300
    korean = "안녕하세요 여러분, 오늘 회의는 오후 세 시에 시작합니다. 늦지 않게 와 주세요!"
    send(desktop, long_word)
    send(desktop, korean)
    phone.fill("#message-input", "sent with a tap")
    phone.tap("#message-form button[type=submit]")

    expect(messages(phone)).to_have_text([long_word, korean, "sent with a tap"])
    expect(messages(desktop)).to_have_text([long_word, korean, "sent with a tap"])
    expect(phone.locator("#messages .text[lang=ko]")).to_have_css("word-break", "keep-all")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    for part in ("#message-input", "#message-form button[type=submit]", "#presence", "#status"):
        expect(phone.locator(part)).to_be_in_viewport()
    screenshot(phone, "phone")


def test_typing_is_shown_to_the_others(server, open_room, room):
    alice = open_room(server, room)
    bob = open_room(server, room)

    alice.type("#message-input", "hel")

    expect(bob.locator("#typing")).to_contain_text("is typing")
    expect(alice.locator("#typing")).to_have_text("")


def test_reconnect_after_a_restart_shows_what_was_missed(start_server, open_room, room):
    first = start_server()
    other = start_server()
    alice = open_room(other, room)
    send(alice, "before the restart")
    expect(messages(alice)).to_have_text(["before the restart"])
    bob = open_room(first, room)
    before = ["before the restart"] if history.KEEPS_HISTORY else []
    expect(messages(bob)).to_have_text(before)

    stop_process(first)
    expect(bob.locator("#status")).to_contain_text("Disconnected")
    send(alice, "while you were away")
    send(alice, "also while away")
    restarted = start_server(port=first.port)

    if history.KEEPS_HISTORY:
        expect(messages(bob)).to_have_text(
            [*before, "while you were away", "also while away"], timeout=20_000
        )
        expect(bob.locator("#status")).to_have_text("Connected")
    else:
        expect(bob.locator("#status")).to_have_text(
            "Reconnected. Messages sent while you were away are not shown.", timeout=20_000
        )
        expect(messages(bob)).to_have_text([])
    stop_process(restarted)


def test_a_burst_beyond_the_flood_limit_arrives_once_and_in_order(server, open_room, room):
    alice = open_room(server, room)
    bob = open_room(server, room)
    burst = [f"message {number}" for number in range(settings.CHAT_RATE_LIMIT_BURST + 4)]

    for text in burst:
        send(alice, text)

    expect(messages(bob)).to_have_text(burst)
    expect(alice.locator("#messages li.unsent")).to_have_count(0)
    expect(messages(alice)).to_have_text(burst)
    expect(alice.locator("#status")).to_have_text("Connected")


def test_messages_typed_across_a_restart_arrive_once_and_in_order(start_server, open_room, room):
    server = start_server()
    alice = open_room(server, room)
    bob = open_room(server, room)
    before = [f"before {number}" for number in range(8)]
    during = [f"during {number}" for number in range(6)]
    for text in before:
        send(alice, text)

    stop_process(server)
    expect(alice.locator("#status")).to_contain_text("Disconnected")
    for text in during:
        send(alice, text)
    expect(alice.locator("#messages li.queued").last).to_contain_text("Waiting for the connection")
    restarted = start_server(port=server.port)

    # Alice's own messages are all confirmed, once each, in the order typed.
    expect(alice.locator("#messages li.unsent")).to_have_count(0, timeout=30_000)
    expect(messages(alice)).to_have_text([*before, *during])
    if history.KEEPS_HISTORY:
        expect(messages(bob)).to_have_text([*before, *during], timeout=20_000)
    else:
        # Bob missed what was sent while he was away, and sees the rest once, in order.
        expect(bob.locator("#status")).to_contain_text("Reconnected", timeout=20_000)
        shown = messages(bob).all_text_contents()
        assert shown == [text for text in [*before, *during] if text in shown]
    stop_process(restarted)


# Records the close code of every socket the page loses, in window.closes.
RECORD_CLOSES = """
window.closes = [];
const OpenSocket = window.WebSocket;
window.WebSocket = class extends OpenSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("close", (event) => window.closes.push(event.code));
  }
};
"""


def test_a_deploy_sends_the_page_away_and_it_comes_back_where_it_was(start_server, open_room, room):
    # SIGTERM: the server drains, telling each page when to come back (close 4001); the
    # page reconnects once the server is up again, and nothing is lost on either side.
    server = start_server(CHAT_DRAIN_SPREAD="1")
    alice = open_room(server, room, init_script=RECORD_CLOSES)
    bob = open_room(server, room)
    send(alice, "before the deploy")
    expect(messages(bob)).to_have_text(["before the deploy"])
    bob.fill("#message-input", "typed during the deploy")

    server.send_signal(signal.SIGTERM)
    assert server.wait(20) == 0
    expect(alice.locator("#status")).to_contain_text("Disconnected")
    restarted = start_server(port=server.port, CHAT_DRAIN_SPREAD="1")

    back = (
        "Connected"
        if history.KEEPS_HISTORY
        else "Reconnected. Messages sent while you were away are not shown."
    )
    expect(bob.locator("#status")).to_have_text(back, timeout=20_000)
    expect(alice.locator("#status")).to_have_text(back, timeout=20_000)
    # Sent away with 4001; then, while the server was down, attempts that failed (1006).
    first, *retries = alice.evaluate("window.closes")
    assert first == protocol.CLOSE_GOING_AWAY
    assert set(retries) <= {1006}
    expect(bob.locator("#message-input")).to_have_value("typed during the deploy")
    bob.press("#message-input", "Enter")
    expect(messages(alice)).to_have_text(["before the deploy", "typed during the deploy"])
    stop_process(restarted)


def reloaded(page):
    """Whether the page was loaded again since window.notReloaded was set on it."""
    try:
        return page.evaluate("window.notReloaded") is None
    except PlaywrightError:  # in the middle of loading again
        return False


def lose_the_rooms_history(start_server, room):
    """Delete the room's messages in the servers' database, as a restore from an older
    backup would lose them."""
    in_the_servers_database(
        start_server,
        "from django.apps import apps; "
        f"apps.get_model('rooms', 'Message').objects.filter(room={room!r}).delete()",
    )


def record_frames(page):
    """What goes over the page's sockets, each line headed by the time since the call, to
    show in a failure."""
    started = time.monotonic()
    frames = []

    def note(line):
        frames.append(f"{time.monotonic() - started:6.2f} {line}")

    def watch(socket):
        note(f"open {socket.url}")
        socket.on("framesent", lambda payload: note(f"sent {payload}"))
        socket.on("framereceived", lambda payload: note(f"received {payload}"))
        socket.on("close", lambda _: note("closed"))

    page.on("websocket", watch)
    page.on("load", lambda _: note("page loaded"))
    return frames


def test_a_page_whose_history_is_gone_reloads_and_keeps_what_was_typed(
    start_server, open_room, room
):
    server = start_server(CHAT_DRAIN_SPREAD="1")
    alice = open_room(server, room)
    send(alice, "sent before")
    expect(messages(alice)).to_have_text(["sent before"])
    alice.evaluate("window.notReloaded = true")
    alice.fill("#message-input", "typed before the reload")
    frames = record_frames(alice)

    # The history is lost (as a restore from an older backup would lose it) and the server
    # restarts: the page is sent away, and resumes once the server is back.
    if history.KEEPS_HISTORY:
        lose_the_rooms_history(start_server, room)
    stop_process(server)
    restarted = start_server(port=server.port, CHAT_DRAIN_SPREAD="1")

    if history.KEEPS_HISTORY:
        # What it had is gone: it reloads, and shows the room as it is. The page may be
        # in its reconnect backoff, which is capped at 30 s.
        try:
            wait_until(lambda: reloaded(alice), "a reload", timeout=40)
        except TimeoutError as error:
            raise AssertionError("\n".join([str(error), *frames])) from None
        expect(alice.locator("#status")).to_have_text("Connected")
        expect(alice.locator("#empty")).to_have_text("No messages yet. Say hello!")
    else:
        # Nothing was saved, so it asks nothing back, and says so rather than reload.
        expect(alice.locator("#status")).to_have_text(
            "Reconnected. Messages sent while you were away are not shown.", timeout=40_000
        )
        assert alice.evaluate("window.notReloaded") is True
        expect(messages(alice)).to_have_text(["sent before"])
    expect(alice.locator("#message-input")).to_have_value("typed before the reload")
    stop_process(restarted)


def test_a_refused_message_is_marked_not_sent_and_goes_with_one_click(server, open_room, room):
    alice = open_room(server, room)
    stop_refusing = refuse_messages(alice, protocol.INVALID_MESSAGE, "Refused for this test.")
    alice.reload()
    expect(alice.locator("#status")).to_have_text("Connected")
    bob = open_room(server, room)

    send(alice, "try me")

    failed = alice.locator("#messages li.failed")
    expect(failed).to_contain_text("Not sent. Refused for this test.")
    screenshot(alice, "not-sent")
    stop_refusing()
    alice.reload()  # the unsent message outlives the reload
    expect(alice.locator("#status")).to_have_text("Connected")
    alice.locator("#messages li.failed button.retry").click()
    expect(messages(bob)).to_have_text(["try me"])
    expect(alice.locator("#messages li.unsent")).to_have_count(0)
    expect(messages(alice)).to_have_text(["try me"])


def test_shift_enter_starts_a_new_line_and_links_are_links(server, open_room, room):
    alice = open_room(server, room)
    bob = open_room(server, room)
    expect(bob.locator("#empty")).to_have_text("No messages yet. Say hello!")

    alice.fill("#message-input", "first line")
    alice.press("#message-input", "Shift+Enter")
    alice.type("#message-input", "see https://example.com/a?b=1. javascript:alert(1)")
    alice.press("#message-input", "Enter")

    text = "first line\nsee https://example.com/a?b=1. javascript:alert(1)"
    expect(messages(bob)).to_have_text([text])
    links = bob.locator("#messages li .text a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.com/a?b=1")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    expect(bob.locator("#messages li.day")).to_have_text(["Today"])
    expect(alice.locator("#messages li.mine")).to_have_count(1)
    expect(bob.locator("#messages li.mine")).to_have_count(0)
    expect(alice.locator("#presence li.me")).to_contain_text("(you)")
    expect(bob.locator("#empty")).to_be_hidden()


def test_older_messages_load_with_a_button(start_server, open_room, room):
    # The page a new socket gets, and five more; none where messages are not saved.
    shown = settings.CHAT_HISTORY_LENGTH if history.KEEPS_HISTORY else 0
    server = start_server(CHAT_RATE_LIMIT_BURST=str(shown + 10))
    alice = open_room(server, room)
    sent = [f"message {number}" for number in range(shown + 5)]
    for text in sent:
        send(alice, text)
    expect(alice.locator("#messages li.unsent")).to_have_count(0)

    bob = open_room(server, room)
    expect(messages(bob)).to_have_count(shown)
    if not history.KEEPS_HISTORY:
        expect(bob.locator("#load-older")).to_be_hidden()
        return
    bob.get_by_role("button", name="Load older messages").click()

    expect(messages(bob)).to_have_text(sent)
    expect(bob.locator("#load-older")).to_be_hidden()


def test_a_korean_browser_gets_the_room_in_korean(server, open_room, room):
    name = f"회의실 {room}"
    desktop = open_room(server, name, locale="ko-KR")
    phone = open_room(server, name, screen=PHONE, locale="ko-KR")
    expect(desktop.locator("html")).to_have_attribute("lang", "ko")
    expect(desktop.locator("#status")).to_have_text("연결됨")
    expect(phone.locator("#empty")).to_have_text("아직 메시지가 없어요. 먼저 인사해 보세요!")

    desktop.type("#message-input", "안녕")
    expect(phone.locator("#typing")).to_contain_text("님이 입력하고 있어요…")
    said = [
        "안녕하세요! 오늘 회의는 오후 세 시에 시작합니다. "
        "자료는 https://example.com/slides 에 올려 두었어요.",
        "네, 늦지 않게 갈게요. 회의실에서 봬요 🙂",
    ]
    send(desktop, said[0])
    phone.fill("#message-input", said[1])
    phone.tap("#message-form button[type=submit]")

    for page in (desktop, phone):
        expect(messages(page)).to_have_text(said)
        expect(page.locator("#messages li.day")).to_have_text(["오늘"])
        # Times in the Korean way, from the browser: "오후 3:05" or "오전 09:30".
        expect(page.locator("#messages time").first).to_have_text(re.compile(r"^오[전후] \d"))
        expect(page.locator("#presence li.me")).to_contain_text("(나)")
    expect(phone.locator("#messages .text").first).to_have_css("word-break", "keep-all")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    screenshot(desktop, "ko")
    screenshot(phone, "ko-phone")


def test_the_language_switcher_keeps_what_was_typed(server, open_room, room):
    alice = open_room(server, room)
    bob = open_room(server, room, locale="ko-KR")
    alice.fill("#message-input", "half written, 반쯤 쓴")

    alice.get_by_role("button", name="한국어").click()

    expect(alice.locator("html")).to_have_attribute("lang", "ko")
    expect(alice.locator("#status")).to_have_text("연결됨")
    expect(alice.locator(".languages [aria-current]")).to_have_text("한국어")
    expect(alice.locator("#message-input")).to_have_value("half written, 반쯤 쓴")
    alice.press("#message-input", "Enter")
    expect(messages(bob)).to_have_text(["half written, 반쯤 쓴"])
    alice.get_by_role("button", name="English").click()
    expect(alice.locator("#status")).to_have_text("Connected")
    expect(alice.locator("#message-input")).to_have_value("")


# -- Editing and deleting saved messages ------------------------------------------------------


def test_only_the_author_is_offered_edit_and_delete(server, open_room, room):
    alice = open_room(server, room)
    bob = open_room(server, room)
    send(alice, "mine, not bob's")
    expect(messages(bob)).to_have_text(["mine, not bob's"])
    send(bob, "bob's own")
    expect(messages(alice)).to_have_text(["mine, not bob's", "bob's own"])

    if history.KEEPS_HISTORY:
        alices, bobs = saved_items(bob, 2).all()
        expect(action(bobs, "Edit")).to_be_visible()
        expect(action(bobs, "Delete")).to_be_visible()
        # Neither on a message of someone else's, on either page: only Reply.
        alices.hover()
        expect(alices.locator(".actions button")).to_have_text(["Reply"])
        saved_items(alice, 2).nth(1).hover()
        expect(
            alice.locator("#messages li.message").nth(1).locator(".actions button")
        ).to_have_text(["Reply"])
    else:
        # Unsaved messages have no ids: nothing can name one to change or answer.
        expect(alice.locator("#messages .actions")).to_have_count(0)
        expect(bob.locator("#messages .actions")).to_have_count(0)
