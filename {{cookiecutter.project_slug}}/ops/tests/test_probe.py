"""manage.py chat_probe: one line and an exit status a monitor can act on."""

import io
import socket
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from websockets.asyncio.client import connect

from testing.processes import HOST, ORIGIN, PROJECT_DIR, unused_port
from testing.servers import receive, room_url


def probe(start_server, url, *options):
    """Run the probe as a monitor would, against the servers' database."""
    return subprocess.run(
        [sys.executable, "manage.py", "chat_probe", url, *options],
        cwd=PROJECT_DIR,
        env=start_server.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_a_message_goes_round_and_leaves_nothing_behind(start_server):
    server = start_server()
    url = f"http://{HOST}:{server.port}"

    for _ in range(2):  # the second time with the probe user already made
        result = probe(start_server, url)
        assert result.returncode == 0, result.stdout + result.stderr
        [line] = result.stdout.splitlines()
        assert line.startswith(f"OK ws://{HOST}:{server.port}/ws/chat/chat-probe/: ")
        assert line.endswith(" ms")

    # The probe's messages are deleted: the room has no history to show.
    async with connect(room_url(server, "chat-probe"), origin=ORIGIN) as websocket:
        assert (await receive(websocket, "chat.history"))["messages"] == []


def test_a_refused_socket_is_reported_with_its_close_code(start_server):
    server = start_server(CHAT_MAX_SOCKETS_PER_SENDER="1")
    result = probe(start_server, f"http://{HOST}:{server.port}")
    assert result.returncode == 1
    assert result.stdout == (
        f"FAILED ws://{HOST}:{server.port}/ws/chat/chat-probe/: "
        "the server closed the socket: 4409 (too_many_sockets)\n"
    )


def probe_here(*arguments):
    """Run the probe in the test's process, against the test database (a manage.py of its
    own costs a second of CPU); return its exit status and what it printed."""
    printed = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("chat_probe", *arguments, stdout=printed)
    return exited.value.code, printed.getvalue()


@pytest.mark.django_db(transaction=True)
def test_no_server_is_reported_in_one_line():
    port = unused_port()
    status, printed = probe_here(f"http://{HOST}:{port}")
    assert status == 1
    [line] = printed.splitlines()
    assert line.startswith(f"FAILED ws://{HOST}:{port}/ws/chat/chat-probe/: cannot connect: ")


@pytest.mark.django_db(transaction=True)
def test_a_server_that_never_answers_is_reported_after_the_timeout():
    with socket.create_server((HOST, 0)) as silent:
        port = silent.getsockname()[1]
        status, printed = probe_here(f"https://{HOST}:{port}", "--timeout", "0.5")
    assert status == 1
    assert printed == f"FAILED wss://{HOST}:{port}/ws/chat/chat-probe/: no answer within 0.5 s\n"


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (["ftp://chat.example.com"], "is not a site's address"),
        (["chat.example.com"], "is not a site's address"),
        (["https://chat.example.com/chat/lobby/"], "without a path"),
        (["https://chat.example.com", "--room", " "], "--room: A room name cannot be empty"),
        (["https://chat.example.com", "--timeout", "0"], "--timeout must be"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_opened(arguments, error):
    with pytest.raises(CommandError, match=error):
        call_command("chat_probe", *arguments)


@pytest.mark.django_db
def test_a_persons_account_is_never_the_probe(django_user_model):
    django_user_model.objects.create_user(username="alice", password="a long password")  # noqa: S106
    with pytest.raises(CommandError, match="a person's account"):
        call_command("chat_probe", "https://chat.example.com", "--username", "alice")
    assert get_user_model().objects.get(username="alice").has_usable_password()
