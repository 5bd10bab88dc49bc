"""Support for the browser tests (`pytest -m browser`): Debian's Chromium, driven by
Playwright, opening room pages of real daphne processes, and what a person does there."""

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from chat import protocol
from testing.processes import HOST, PROJECT_DIR, manage

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
    os.environ.get("CHAT_SCREENSHOT", PROJECT_DIR / "pages" / "tests" / "output" / "room.png")
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
    """What the page's client says, in the page's language (pages/client_texts.py)."""
    return page.evaluate(f"JSON.parse(document.getElementById('chat-texts').textContent).{key}")


def send(page, text):
    page.fill("#message-input", text)
    page.press("#message-input", "Enter")


def messages(page):
    return page.locator("#messages li .text")


def in_the_servers_database(start_server, script):
    """Run the Python ``script`` in `manage.py shell`, against the servers' database (with
    SQLite, a file of their own, out of the test's reach)."""
    manage("shell", "-c", script, env=start_server.env, check=True)


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


def log_in(page, username, password):
    """Log the page's person in, and come back to the room."""
    page.locator("header a[href^='/accounts/login/']").click()
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#status")).to_have_text(client_text(page, "connected"))
