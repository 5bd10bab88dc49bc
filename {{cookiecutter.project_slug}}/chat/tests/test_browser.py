"""The room page in a real browser: Debian's Chromium, driven by Playwright, against real
daphne processes. Run with `pytest -m browser`."""

import json
import os
import re
import signal
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright

from chat import history, membership, protocol
from chat.tests.servers import HOST, manage, stop_server, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Where the room page's screenshot goes, with the others beside it (room-phone.png,
# room-ko.png, room-ko-phone.png): not over the ones the README shows (docs/), unless
# asked to.
SCREENSHOT = Path(
    os.environ.get("CHAT_SCREENSHOT", Path(__file__).resolve().parent / "output" / "room.png")
)


def screenshot(page, kind=None):
    path = (
        SCREENSHOT.with_name(f"{SCREENSHOT.stem}-{kind}{SCREENSHOT.suffix}") if kind else SCREENSHOT
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path)


DESKTOP = {"viewport": {"width": 900, "height": 600}}
# A phone-sized screen, like Playwright's "iPhone 13" device.
PHONE = {
    "viewport": {"width": 390, "height": 664},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}; install it or set CHROMIUM_PATH")
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # Playwright's sync API keeps an event loop running in this thread, so Django would
        # refuse the test database's setup and teardown here as if they were async code.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def open_room(browser):
    """Open a room page in a new browser context (a separate person); closed afterwards."""
    contexts = []

    def open_page(server, room, screen=DESKTOP, init_script=None, locale="en-US"):
        # The browser's language, which it asks pages for (Accept-Language).
        context = browser.new_context(**screen, locale=locale)
        contexts.append(context)
        if init_script:
            context.add_init_script(init_script)
        page = context.new_page()
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"http://{HOST}:{server.port}/chat/{room}/")
        expect(page.locator("#status")).to_have_text(client_text(page, "connected"))
        return page

    yield open_page
    for context in contexts:
        context.close()


def client_text(page, key):
    """What the page's client says, in the page's language (chat/client_texts.py)."""
    return page.evaluate(f"JSON.parse(document.getElementById('chat-texts').textContent).{key}")


def send(page, text):
    page.fill("#message-input", text)
    page.press("#message-input", "Enter")


def messages(page):
    return page.locator("#messages li .text")


@pytest.fixture
def room():
    return f"room-{uuid.uuid4().hex[:8]}"


def test_two_people_in_a_room_talk_and_other_rooms_stay_apart(start_server, open_room, room):
    server = start_server()
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


def test_html_in_a_message_is_shown_as_text_and_runs_nothing(start_server, open_room, room):
    server = start_server()
    alice = open_room(server, room)
    bob = open_room(server, room)

    send(alice, "<img src=x onerror=alert(1)>")

    expect(messages(bob)).to_have_text(["<img src=x onerror=alert(1)>"])
    assert bob.locator("#messages img").count() == 0
    send(alice, "and after it")
    expect(messages(bob)).to_have_text(["<img src=x onerror=alert(1)>", "and after it"])
    assert alice.dialogs == [] and bob.dialogs == []


def test_sending_works_where_crypto_random_uuid_does_not_exist(start_server, open_room, room):
    # A plain-HTTP page served from a LAN address is no secure context, and browsers give
    # it no crypto.randomUUID.
    server = start_server()
    alice = open_room(server, room, init_script="delete Crypto.prototype.randomUUID;")
    bob = open_room(server, room)
    assert alice.evaluate("typeof crypto.randomUUID") == "undefined"

    send(alice, "no uuid needed")
    send(alice, "nor for the second")

    expect(messages(bob)).to_have_text(["no uuid needed", "nor for the second"])
    expect(alice.locator("#messages li.unsent")).to_have_count(0)
    expect(messages(alice)).to_have_text(["no uuid needed", "nor for the second"])


def test_presence_lists_both_people_and_drops_one_whose_tab_closes(start_server, open_room, room):
    server = start_server()
    alice = open_room(server, room)
    bob = open_room(server, room)
    expect(alice.locator("#presence li")).to_have_count(2)
    expect(bob.locator("#presence li")).to_have_count(2)

    bob.close()

    expect(alice.locator("#presence li")).to_have_count(1)


def test_the_room_works_on_a_phone_sized_screen(start_server, open_room, room):
    server = start_server()
    phone = open_room(server, f"Café ☕ {room}", screen=PHONE)
    desktop = open_room(server, f"Café ☕ {room}")
    expect(phone.locator("#presence li")).to_have_count(2)

    # One long word must wrap, not widen the page; Korean wraps between words.
    long_word = "a" * 300
    korean = "안녕하세요 여러분, 오늘 회의는 오후 세 시에 시작합니다. 늦지 않게 와 주세요!"
    send(desktop, long_word)
    send(desktop, korean)
    phone.fill("#message-input", "sent with a tap")
    phone.tap("#message-form button")

    expect(messages(phone)).to_have_text([long_word, korean, "sent with a tap"])
    expect(messages(desktop)).to_have_text([long_word, korean, "sent with a tap"])
    expect(phone.locator("#messages .text[lang=ko]")).to_have_css("word-break", "keep-all")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    for part in ("#message-input", "#message-form button", "#presence", "#status"):
        expect(phone.locator(part)).to_be_in_viewport()
    screenshot(phone, "phone")


def test_typing_is_shown_to_the_others(start_server, open_room, room):
    server = start_server()
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

    stop_server(first)
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
    stop_server(restarted)


def test_a_burst_beyond_the_flood_limit_arrives_once_and_in_order(start_server, open_room, room):
    server = start_server()
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

    stop_server(server)
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
    stop_server(restarted)


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
    stop_server(restarted)


def reloaded(page):
    """Whether the page was loaded again since window.notReloaded was set on it."""
    try:
        return page.evaluate("window.notReloaded") is None
    except PlaywrightError:  # in the middle of loading again
        return False


def in_the_servers_database(start_server, script):
    """Run the Python ``script`` in `manage.py shell`, against the servers' database (with
    SQLite, a file of their own, out of the test's reach)."""
    manage("shell", "-c", script, env=start_server.env, check=True)


def lose_the_rooms_history(start_server, room):
    """Delete the room's messages in the servers' database, as a restore from an older
    backup would lose them."""
    in_the_servers_database(
        start_server,
        "from django.apps import apps; "
        f"apps.get_model('chat', 'Message').objects.filter(room={room!r}).delete()",
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
    stop_server(server)
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
    stop_server(restarted)


def refuse_messages(page, code, detail, frame_type=protocol.CHAT_MESSAGE, times=None, **fields):
    """Answer each frame of ``frame_type`` (chat messages) the page sends with an error
    frame naming it, with ``fields`` added, as the server does when it refuses one, and
    pass everything else through; until the function returned is called, or ``times``
    were refused. The frames refused are in its ``refused`` list."""
    refusing = {"on": True}
    refused = []

    def route(ws):
        server = ws.connect_to_server()

        def from_page(text):
            frame = json.loads(text)
            if refusing["on"] and frame.get("type") == frame_type:
                refused.append(frame)
                refusing["on"] = times is None or len(refused) < times
                error = protocol.error(code, detail, frame["client_id"], frame.get("id"))
                ws.send(json.dumps({**error, **fields}))
            else:
                server.send(text)

        ws.on_message(from_page)

    page.route_web_socket("**/ws/chat/**", route)

    def stop():
        refusing["on"] = False

    stop.refused = refused
    return stop


def test_a_refused_message_is_marked_not_sent_and_goes_with_one_click(
    start_server, open_room, room
):
    server = start_server()
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


def test_shift_enter_starts_a_new_line_and_links_are_links(start_server, open_room, room):
    server = start_server()
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


def test_a_korean_browser_gets_the_room_in_korean(start_server, open_room, room):
    server = start_server()
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
    phone.tap("#message-form button")

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


def test_the_language_switcher_keeps_what_was_typed(start_server, open_room, room):
    server = start_server()
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


def saved_items(page, count):
    """The page's messages, once ``count`` of them are saved (have ids)."""
    expect(page.locator("#messages li.message[data-id]")).to_have_count(count)
    return page.locator("#messages li.message")


def action(item, name):
    """The message's Edit or Delete button (by its text), shown as a pointer over the
    message shows it."""
    item.hover()
    return item.locator(".actions").get_by_role("button", name=name, exact=True)


def edit(page, item, text):
    """Open the message's editor and type ``text`` in it in place of what it holds."""
    action(item, client_text(page, "edit")).click()
    editor = item.locator(".editor textarea")
    expect(editor).to_be_focused()
    editor.fill(text)
    return editor


def ask_to_delete(page, item):
    action(item, client_text(page, "delete")).click()
    confirm = item.locator(".confirm")
    expect(confirm).to_contain_text(client_text(page, "confirm_delete"))
    return confirm


def delete(page, item):
    ask_to_delete(page, item).get_by_role("button", name=client_text(page, "delete")).click()


def test_the_author_edits_and_deletes_and_everyone_sees_it_live(start_server, open_room, room):
    server = start_server()
    alice = open_room(server, room)
    bob = open_room(server, room)
    send(alice, "helo everyone")
    send(alice, "a second thought")
    expect(messages(bob)).to_have_text(["helo everyone", "a second thought"])
    if not history.KEEPS_HISTORY:
        # Messages that are not saved have no ids to name them by: none can be changed.
        expect(alice.locator("#messages .actions")).to_have_count(0)
        return
    first, second = saved_items(alice, 2).all()

    editor = edit(alice, first, "hello everyone")
    # Shift+Enter starts a new line; Enter that ends an input method's composition
    # (Korean, Japanese, Chinese) only ends it.
    editor.press("Shift+Enter")
    editor.press_sequentially("and welcome")
    editor.evaluate(
        "(box) => box.dispatchEvent(new KeyboardEvent('keydown', "
        "{key: 'Enter', isComposing: true, bubbles: true, cancelable: true}))"
    )
    expect(editor).to_have_value("hello everyone\nand welcome")
    editor.press("Enter")

    edited = ["hello everyone\nand welcome", "a second thought"]
    expect(messages(bob)).to_have_text(edited)
    expect(messages(alice)).to_have_text(edited)
    expect(alice.locator("#messages .editor")).to_have_count(0)
    for page in (alice, bob):
        mark = page.locator("#messages li.message").first.locator(".edited")
        expect(mark).to_have_text("(edited)")
        expect(mark).to_have_attribute("title", re.compile(r"^Edited .*\d{4}"))

    # Escape gives an edit up; unchanged text is nothing to save.
    edit(alice, second, "never mind").press("Escape")
    expect(second.locator(".editor")).to_have_count(0)
    edit(alice, second, "a second thought").press("Enter")
    expect(second.locator(".editor")).to_have_count(0)
    expect(second.locator(".edited")).to_have_count(0)

    ask_to_delete(alice, second).get_by_role("button", name="Cancel").click()
    expect(second.locator(".confirm")).to_have_count(0)
    expect(messages(bob)).to_have_text(edited)
    delete(alice, second)

    deleted = [edited[0], "This message was deleted."]
    expect(messages(bob)).to_have_text(deleted)
    expect(messages(alice)).to_have_text(deleted)
    expect(second.locator(".actions")).to_have_count(0)
    assert alice.dialogs == []

    # A page opened later shows both from history.
    later = open_room(server, room)
    expect(messages(later)).to_have_text(deleted)
    expect(later.locator("#messages .edited")).to_have_count(1)
    expect(later.locator("#messages li.message").first.locator(".edited")).to_have_text("(edited)")
    expect(later.locator("#messages .actions")).to_have_count(0)


def test_only_the_author_is_offered_edit_and_delete(start_server, open_room, room):
    server = start_server()
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
        # Neither on a message of someone else's, on either page.
        alices.hover()
        expect(alices.get_by_role("button")).to_have_count(0)
        saved_items(alice, 2).nth(1).hover()
        expect(alice.locator("#messages li.message").nth(1).get_by_role("button")).to_have_count(0)
    else:
        expect(alice.locator("#messages .actions")).to_have_count(0)
        expect(bob.locator("#messages .actions")).to_have_count(0)


def log_in(page, username, password):
    """Log the page's person in, and come back to the room."""
    page.locator("header a[href^='/accounts/login/']").click()
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#status")).to_have_text(client_text(page, "connected"))


def test_staff_delete_anyones_message_but_edit_only_their_own(start_server, open_room, room):
    if not history.KEEPS_HISTORY:
        pytest.skip("messages are not saved: there are none to delete")
    server = start_server()
    password = uuid.uuid4().hex
    in_the_servers_database(
        start_server,
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_user('moderator', password={password!r}, is_staff=True)",
    )
    alice = open_room(server, room)
    staff = open_room(server, room)
    log_in(staff, "moderator", password)
    send(alice, "spam, spam, spam")

    (spam,) = saved_items(staff, 1).all()
    expect(action(spam, "Edit")).to_have_count(0)
    delete(staff, spam)

    expect(messages(alice)).to_have_text(["This message was deleted."])
    expect(alice.locator("#messages .actions")).to_have_count(0)


def test_a_refused_edit_keeps_the_editor_and_what_was_typed(start_server, open_room, room):
    if not history.KEEPS_HISTORY:
        pytest.skip("messages are not saved: there are none to edit")
    server = start_server()
    alice = open_room(server, room)
    bob = open_room(server, room)
    send(alice, "first draft")
    expect(messages(bob)).to_have_text(["first draft"])
    stop_refusing = refuse_messages(
        alice, protocol.FORBIDDEN, "Refused for this test.", frame_type=protocol.CHAT_EDIT
    )
    alice.reload()
    expect(alice.locator("#status")).to_have_text("Connected")
    (item,) = saved_items(alice, 1).all()

    editor = edit(alice, item, "second draft, typed with care")
    editor.press("Enter")

    expect(item.locator(".editor .note")).to_have_text("Not saved. Refused for this test.")
    expect(editor).to_have_value("second draft, typed with care")
    expect(editor).to_be_editable()
    assert stop_refusing.refused[0]["id"] == int(item.get_attribute("data-id"))
    screenshot(alice, "edit-refused")
    # What was typed outlives a reload, and the editor opens again with it.
    stop_refusing()
    alice.reload()
    expect(alice.locator("#status")).to_have_text("Connected")
    editor = alice.locator("#messages .editor textarea")
    expect(editor).to_have_value("second draft, typed with care")
    editor.press("Enter")
    expect(messages(bob)).to_have_text(["second draft, typed with care"])
    expect(alice.locator("#messages .editor")).to_have_count(0)
    alice.reload()
    expect(alice.locator("#status")).to_have_text("Connected")
    expect(alice.locator("#messages .editor")).to_have_count(0)


def test_an_edit_refused_as_too_fast_goes_again_by_itself(start_server, open_room, room):
    if not history.KEEPS_HISTORY:
        pytest.skip("messages are not saved: there are none to edit")
    server = start_server()
    alice = open_room(server, room)
    bob = open_room(server, room)
    send(alice, "quick")
    expect(messages(bob)).to_have_text(["quick"])
    refusals = refuse_messages(
        alice,
        protocol.RATE_LIMITED,
        "Too fast for this test.",
        frame_type=protocol.CHAT_EDIT,
        times=1,
        retry_after=1,
    )
    alice.reload()
    expect(alice.locator("#status")).to_have_text("Connected")
    (item,) = saved_items(alice, 1).all()

    edit(alice, item, "quick, then patient").press("Enter")

    expect(messages(bob)).to_have_text(["quick, then patient"])
    assert len(refusals.refused) == 1
    expect(alice.locator("#messages .editor")).to_have_count(0)


def test_an_edit_saved_while_disconnected_goes_once_the_server_is_back(
    start_server, open_room, room
):
    if not history.KEEPS_HISTORY:
        pytest.skip("messages are not saved: there are none to edit")
    server = start_server()
    alice = open_room(server, room)
    send(alice, "before the restart")
    (item,) = saved_items(alice, 1).all()
    stop_server(server)
    expect(alice.locator("#status")).to_contain_text("Disconnected")

    editor = edit(alice, item, "edited while the server was down")
    editor.press("Enter")

    expect(item.locator(".editor .note")).to_have_text("Waiting for the connection…")
    expect(editor).to_have_value("edited while the server was down")
    restarted = start_server(port=server.port)
    expect(item.locator(".editor")).to_have_count(0, timeout=30_000)
    expect(messages(alice)).to_have_text(["edited while the server was down"])
    bob = open_room(restarted, room)
    expect(messages(bob)).to_have_text(["edited while the server was down"])
    stop_server(restarted)


def test_a_page_back_from_away_shows_the_edits_and_deletions_it_missed(
    start_server, open_room, room
):
    if not history.KEEPS_HISTORY:
        pytest.skip("messages are not saved: there are none to change")
    server = start_server()
    bob = open_room(server, room)
    send(bob, "as it was")
    send(bob, "soon gone")
    saved_items(bob, 2)
    stop_server(server)
    expect(bob.locator("#status")).to_contain_text("Disconnected")

    # Changed while the page was away (by a moderator on another process, say).
    in_the_servers_database(
        start_server,
        "from django.apps import apps; from django.utils import timezone; "
        "Message = apps.get_model('chat', 'Message'); now = timezone.now(); "
        f"first, second = Message.objects.filter(room={room!r}).order_by('id'); "
        "Message.objects.filter(pk=first.pk).update("
        "text='as it is now', edited_at=now, changed_at=now); "
        "Message.objects.filter(pk=second.pk).update(text='', deleted=True, changed_at=now)",
    )
    restarted = start_server(port=server.port)

    # The reconnect waits out its backoff, capped at 30 s.
    expect(messages(bob)).to_have_text(
        ["as it is now", "This message was deleted."], timeout=45_000
    )
    expect(bob.locator("#messages li.message").first.locator(".edited")).to_have_text("(edited)")
    stop_server(restarted)


def test_a_change_that_arrives_before_its_message_is_kept_for_it(start_server, open_room, room):
    # Bob's page places a history page read before the edit and the deletion after them;
    # the changes must win over the older text it carries.
    if not history.KEEPS_HISTORY:
        pytest.skip("messages are not saved: there are none to change")
    server = start_server()
    alice = open_room(server, room)
    send(alice, "to be edited")
    send(alice, "to be deleted")
    first, second = saved_items(alice, 2).all()
    ids = [int(item.get_attribute("data-id")) for item in (first, second)]
    hold_history = """
    window.heldHistory = [];
    const Socket = window.WebSocket;
    window.WebSocket = class extends Socket {
      addEventListener(type, listener, ...rest) {
        if (type !== "message") return super.addEventListener(type, listener, ...rest);
        super.addEventListener("message", (event) => {
          if (JSON.parse(event.data).type !== "chat.history") return listener(event);
          window.heldHistory.push(() => listener(event));
        }, ...rest);
      }
    };
    window.releaseHistory = () => window.heldHistory.splice(0).forEach((release) => release());
    """
    bob = open_room(server, room, init_script=hold_history)
    bob.wait_for_function("window.heldHistory.length === 1")

    edit(alice, first, "edited before bob saw it").press("Enter")
    delete(alice, second)
    expect(messages(alice)).to_have_text(["edited before bob saw it", "This message was deleted."])
    expect(bob.locator("#messages li.message")).to_have_count(0)
    bob.evaluate("window.releaseHistory()")

    expect(messages(bob)).to_have_text(["edited before bob saw it", "This message was deleted."])
    expect(bob.locator(f"#messages li[data-id='{ids[0]}'] .edited")).to_have_count(1)


# What the edit screenshots show, in each language: a message by someone else, one edited,
# one deleted, one being edited and one whose deletion is being confirmed.
EDIT_SCENES = {
    "en-US": {
        "other": "Morning! Is the design review still at 3?",
        "sent": [
            "Yes, at 3 in the small room.",
            "wrong room, sorry",
            "I'll bring the printed slides.",
            "See you there!",
        ],
        "edited": "Yes, but at 3:30, in the small room by the kitchen.",
        "editing": "I'll bring the printed slides and the prototype",
    },
    "ko-KR": {
        "other": "좋은 아침이에요! 디자인 리뷰는 그대로 세 시인가요?",
        "sent": [
            "네, 세 시에 작은 회의실에서 해요.",
            "방을 잘못 골랐어요",
            "출력한 슬라이드를 가져갈게요.",
            "거기서 봬요!",
        ],
        "edited": "네, 그런데 세 시 반으로 미뤄졌어요. 탕비실 옆 작은 회의실에서 해요.",
        "editing": "출력한 슬라이드와 시제품을 함께 가져갈게요",
    },
}


@pytest.mark.parametrize(
    ("locale", "screen", "kind"),
    [
        ("en-US", DESKTOP, "edit"),
        ("en-US", PHONE, "edit-phone"),
        ("ko-KR", DESKTOP, "edit-ko"),
        ("ko-KR", PHONE, "edit-ko-phone"),
    ],
    ids=["desktop", "phone", "ko", "ko-phone"],
)
def test_edits_and_deletions_on_each_screen_and_language(
    start_server, open_room, room, locale, screen, kind
):
    if not history.KEEPS_HISTORY:
        pytest.skip("messages are not saved: there are none to change")
    scene = EDIT_SCENES[locale]
    server = start_server()
    bob = open_room(server, room, locale=locale)
    alice = open_room(server, room, screen=screen, locale=locale)
    send(bob, scene["other"])
    expect(messages(alice)).to_have_text([scene["other"]])
    for text in scene["sent"]:
        send(alice, text)
    _, answered, mistaken, editing, confirming = saved_items(alice, 5).all()

    edit(alice, answered, scene["edited"]).press("Enter")
    expect(answered.locator(".edited")).to_have_text(client_text(alice, "edited"))
    delete(alice, mistaken)
    expect(mistaken.locator(".text")).to_have_text(client_text(alice, "deleted"))
    edit(alice, editing, scene["editing"])
    ask_to_delete(alice, confirming)
    # As a pointer resting on a message shows its actions.
    answered.hover()

    expect(messages(bob)).to_have_text(
        [scene["other"], scene["edited"], client_text(bob, "deleted"), *scene["sent"][2:]]
    )
    assert alice.evaluate("document.documentElement.scrollWidth") <= screen["viewport"]["width"]
    screenshot(alice, kind)


# -- Direct messages, private rooms and unread counts -----------------------------------------


def people(start_server, *usernames):
    """Accounts of ``usernames`` in the servers' database; their password."""
    password = uuid.uuid4().hex
    in_the_servers_database(
        start_server,
        "from django.contrib.auth import get_user_model; "
        f"[get_user_model().objects.create_user(name, password={password!r}) "
        f"for name in {list(usernames)!r}]",
    )
    return password


def logged_in(open_room, server, username, password, screen=DESKTOP, locale="en-US"):
    page = open_room(server, f"room-{uuid.uuid4().hex[:8]}", screen=screen, locale=locale)
    log_in(page, username, password)
    return page


def go_to(page, server, path):
    page.goto(f"http://{HOST}:{server.port}{path}")


def test_two_users_write_in_a_direct_message_and_a_third_is_refused(start_server, open_room):
    if not membership.KEEPS_MEMBERS:
        pytest.skip("direct messages need saved messages")
    server = start_server()
    password = people(start_server, "alice", "bob", "mallory")
    alice = logged_in(open_room, server, "alice", password)
    bob = logged_in(open_room, server, "bob", password)

    # From a name in the online list: asked first, then opened.
    go_to(alice, server, "/chat/lobby/")
    go_to(bob, server, "/chat/lobby/")
    alice.locator("#presence").get_by_role("link", name="bob").click()
    alice.get_by_role("button", name="Start the conversation").click()
    expect(alice.locator("#status")).to_have_text("Connected")
    expect(alice.locator("h1")).to_have_text("@bob")
    send(alice, "hi bob, just us")
    saved_items(alice, 1)

    # Bob finds it in his list with one unread message, and opens it.
    go_to(bob, server, "/")
    conversation = bob.locator(".conversations a", has_text="alice")
    expect(conversation.locator(".unread")).to_have_text("1")
    conversation.click()
    expect(messages(bob)).to_have_text(["hi bob, just us"])
    send(bob, "hi alice")
    expect(messages(alice)).to_have_text(["hi bob, just us", "hi alice"])

    # An edit and a delete, seen live by the other.
    first = saved_items(alice, 2).first
    edit(alice, first, "hi Bob, just us").press("Enter")
    expect(messages(bob)).to_have_text(["hi Bob, just us", "hi alice"])
    expect(bob.locator("#messages li.message").first.locator(".edited")).to_have_text("(edited)")
    delete(bob, saved_items(bob, 2).last)
    expect(messages(alice)).to_have_text(["hi Bob, just us", "This message was deleted."])
    screenshot(alice, "direct")

    # A third user is refused the page, and sees nothing of it.
    mallory = logged_in(open_room, server, "mallory", password)
    go_to(mallory, server, alice.url.split(str(server.port), 1)[1])
    expect(mallory.locator("h1")).to_have_text("This room is private")
    expect(mallory.locator("#messages")).to_have_count(0)
    go_to(mallory, server, "/")
    expect(mallory.locator(".conversations")).to_have_count(0)


def test_an_unread_badge_clears_when_read_in_another_tab(start_server, open_room, browser):
    if not membership.KEEPS_MEMBERS:
        pytest.skip("private rooms need saved messages")
    server = start_server()
    password = people(start_server, "alice", "bob")
    in_the_servers_database(
        start_server,
        "from django.contrib.auth import get_user_model; from chat import membership; "
        "membership.create_private_room("
        "get_user_model().objects.get(username='alice'), 'team', ['bob'])",
    )
    alice = logged_in(open_room, server, "alice", password)
    go_to(alice, server, "/chat/team/")
    expect(alice.locator("#status")).to_have_text("Connected")
    send(alice, "standup in 5")
    send(alice, "@bob can you start?")
    saved_items(alice, 2)

    # Bob's first tab, on another room: the team room listed with two unread, one of them
    # mentioning him.
    elsewhere = logged_in(open_room, server, "bob", password)
    team = elsewhere.locator(".conversations a", has_text="team")
    expect(team.locator(".unread")).to_have_text("2")
    expect(team.locator(".mentions")).to_have_text("@1")
    screenshot(elsewhere, "unread")
    lobby = elsewhere.context.new_page()
    lobby.goto(f"http://{HOST}:{server.port}/")
    expect(lobby.locator(".conversations a", has_text="team").locator(".unread")).to_have_text("2")

    # His second tab, in the same browser, opens the room and reads it.
    reading = elsewhere.context.new_page()
    reading.goto(f"http://{HOST}:{server.port}/chat/team/")
    expect(messages(reading)).to_have_text(["standup in 5", "@bob can you start?"])
    expect(reading.locator("#messages li.mention")).to_have_count(1)
    screenshot(reading, "mention")

    # The first tab hears of it at once; the lobby, which has no socket, once it is looked
    # at again.
    expect(team.locator(".unread")).to_be_hidden()
    expect(team.locator(".mentions")).to_be_hidden()
    lobby.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(lobby.locator(".conversations a", has_text="team").locator(".unread")).to_be_hidden()
    elsewhere.reload()
    expect(elsewhere.locator(".conversations a", has_text="team").locator(".unread")).to_be_hidden()


@pytest.mark.parametrize(
    ("screen", "locale", "kind"),
    [
        (PHONE, "en-US", "members-phone"),
        (DESKTOP, "ko-KR", "members-ko"),
        (PHONE, "ko-KR", "members-ko-phone"),
    ],
)
def test_the_members_page_on_a_phone_and_in_korean(start_server, open_room, screen, locale, kind):
    if not membership.KEEPS_MEMBERS:
        pytest.skip("private rooms need saved messages")
    server = start_server()
    password = people(start_server, "alice", "bob", "carol")
    in_the_servers_database(
        start_server,
        "from django.contrib.auth import get_user_model; from chat import membership; "
        "users = get_user_model().objects; "
        "alice = users.get(username='alice'); "
        "room = membership.create_private_room(alice, 'team', ['bob', 'carol']); "
        "membership.set_role(alice, room, 'carol', 'moderator'); "
        "membership.mute(alice, room, 'bob', 600)",
    )
    alice = logged_in(open_room, server, "alice", password, screen=screen, locale=locale)
    go_to(alice, server, "/members/team/")
    expect(alice.locator("table.members tbody tr")).to_have_count(3)
    alice.locator("form.inline-actions button[value=link]").click()
    expect(alice.locator(".invite-link")).to_have_value(re.compile(r"/invite/inv_"))
    screenshot(alice, kind)
