"""Saved messages, private rooms and direct conversations in a real browser: editing and
deleting, moderation, unread badges and the members page. Run with `pytest -m browser`."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from chat import protocol
from testing.browser import (
    DESKTOP,
    PHONE,
    action,
    ask_to_delete,
    client_text,
    delete,
    edit,
    in_the_servers_database,
    log_in,
    messages,
    refuse_messages,
    saved_items,
    screenshot,
    send,
)
from testing.processes import HOST, stop_process

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_author_edits_and_deletes_and_everyone_sees_it_live(server, open_room, room):
    alice = open_room(server, room)
    bob = open_room(server, room)
    send(alice, "helo everyone")
    send(alice, "a second thought")
    expect(messages(bob)).to_have_text(["helo everyone", "a second thought"])
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
    # Only Reply, and only on the message that is not deleted.
    expect(later.locator("#messages .actions button")).to_have_text([client_text(later, "reply")])


def test_staff_delete_anyones_message_but_edit_only_their_own(start_server, open_room, room):
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


def test_a_refused_edit_keeps_the_editor_and_what_was_typed(server, open_room, room):
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


def test_an_edit_refused_as_too_fast_goes_again_by_itself(server, open_room, room):
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
    server = start_server()
    alice = open_room(server, room)
    send(alice, "before the restart")
    (item,) = saved_items(alice, 1).all()
    stop_process(server)
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
    stop_process(restarted)


def test_a_page_back_from_away_shows_the_edits_and_deletions_it_missed(
    start_server, open_room, room
):
    server = start_server()
    bob = open_room(server, room)
    send(bob, "as it was")
    send(bob, "soon gone")
    saved_items(bob, 2)
    stop_process(server)
    expect(bob.locator("#status")).to_contain_text("Disconnected")

    # Changed while the page was away (by a moderator on another process, say).
    in_the_servers_database(
        start_server,
        "from django.apps import apps; from django.utils import timezone; "
        "Message = apps.get_model('rooms', 'Message'); now = timezone.now(); "
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
    stop_process(restarted)


def test_a_change_that_arrives_before_its_message_is_kept_for_it(server, open_room, room):
    # Bob's page places a history page read before the edit and the deletion after them;
    # the changes must win over the older text it carries.
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
    server = start_server()
    password = people(start_server, "alice", "bob")
    in_the_servers_database(
        start_server,
        "from django.contrib.auth import get_user_model; from rooms import membership; "
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
    server = start_server()
    password = people(start_server, "alice", "bob", "carol")
    in_the_servers_database(
        start_server,
        "from django.contrib.auth import get_user_model; from rooms import membership; "
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


def test_a_reply_shows_what_it_answers_and_takes_the_reader_there(
    server, start_module_server, open_room, room
):
    # A question, more than a page of messages after it, and an answer to it.
    in_the_servers_database(
        start_module_server,
        "from asgiref.sync import async_to_sync\n"
        "from django.contrib.auth.models import AnonymousUser\n"
        "from rooms import history\n"
        "def say(text, reply_to=None):\n"
        f"    return async_to_sync(history.save_message)(room={room!r}, user=AnonymousUser(),"
        " display_name='guest-a11ce0', text=text, reply_to=reply_to)[0]['id']\n"
        "question = say('Shall we meet at three?')\n"
        "for number in range(55):\n"
        "    say(f'filler {number}')\n"
        "say('Three works for me.', reply_to=question)\n",
    )
    alice = open_room(server, room)
    bob = open_room(server, room, screen=PHONE, locale="ko-KR")
    answer = saved_items(alice, 50).last
    expect(answer.locator(".reply-quote")).to_have_text("guest-a11ce0Shall we meet at three?")

    # The question is older than the page: going to it loads what lies between.
    answer.locator(".reply-quote").click()
    question = alice.locator("#messages li.message", has_text="Shall we meet at three?").first
    expect(question).to_have_class(re.compile(r"\bhighlight\b"))
    expect(question).to_be_in_viewport()

    # Bob answers a message on his page; both see what it answers, and Esc gives a reply up.
    filler = bob.locator("#messages li.message", has_text="filler 54")
    action(filler, client_text(bob, "reply")).click()
    expect(bob.locator("#reply-bar")).to_contain_text("filler 54")
    bob.keyboard.press("Escape")
    expect(bob.locator("#reply-bar")).to_be_hidden()
    action(filler, client_text(bob, "reply")).click()
    bob.fill("#message-input", "네, 좋아요")
    screenshot(bob, "reply-ko-phone")
    bob.press("#message-input", "Enter")
    expect(bob.locator("#reply-bar")).to_be_hidden()
    for page in (alice, bob):
        reply = page.locator("#messages li.message", has_text="네, 좋아요")
        expect(reply.locator(".reply-quote")).to_have_text("guest-a11ce0filler 54")
    alice.locator("#messages").evaluate("list => list.scrollTo(0, list.scrollHeight)")
    screenshot(alice, "reply")
