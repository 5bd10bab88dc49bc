"""manage.py chat_probe URL: the whole chat checked end to end, for a monitor.

It logs the probe user in (a session of its own, in the database the servers use), opens
two sockets to the probe room of the site at URL, sends one message on the first and
waits for the second to receive it. It prints one line, and exits 0 when the message went
round (with the time it took), 1 when it did not (with why). The message is deleted
afterwards (that one message, by its client_id), and the session too.
"""

import asyncio
import json
import sys
import time
import uuid
from importlib import import_module
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core.management.base import BaseCommand, CommandError
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from chat import protocol
from chat.room_names import PROBE_ROOM, InvalidRoomName, normalize_room_name
from chat.rooms_backend import history

SOCKET_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
ORIGIN_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"


class ProbeFailed(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Send one message through the site at URL (e.g. https://chat.example.com) from one "
        "socket to another, as the probe user; print one line and exit 0 if it went "
        "round, 1 if not."
    )

    def add_arguments(self, parser):
        parser.add_argument("url", help="the site's address: scheme, host and port")
        parser.add_argument("--room", default=PROBE_ROOM, help="default: %(default)s")
        parser.add_argument("--username", default="chat-probe", help="default: %(default)s")
        parser.add_argument(
            "--timeout",
            type=float,
            default=10,
            help="seconds the whole check may take (default: %(default)s)",
        )

    def handle(self, *args, url, room, username, timeout, **options):
        try:
            room = normalize_room_name(room)
        except InvalidRoomName as exc:
            raise CommandError(f"--room: {exc}") from None
        if timeout <= 0:
            raise CommandError("--timeout must be a number of seconds above 0.")
        socket_url, origin = addresses(url, room)
        session = log_in(username)
        client_id = uuid.uuid4().hex
        try:
            cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
            round_trip = asyncio.run(send_round(socket_url, origin, cookie, client_id, timeout))
        except ProbeFailed as exc:
            self.stdout.write(f"FAILED {socket_url}: {exc}")
            sys.exit(1)
        finally:
            session.delete()
            history.delete_sent_message(room, username, client_id)
        self.stdout.write(f"OK {socket_url}: a message went round in {round_trip * 1000:.0f} ms")


def addresses(url, room):
    """The socket URL of ``room``, and the Origin its page would have, on the site at
    ``url``; CommandError for an address that cannot be a site's."""
    parts = urlsplit(url)
    if parts.scheme not in SOCKET_SCHEMES or not parts.netloc:
        raise CommandError(f"{url!r} is not a site's address, such as https://chat.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise CommandError(f"Give the site's address without a path: {url!r}")
    path = f"/ws/chat/{quote(room, safe='')}/"
    return (
        f"{SOCKET_SCHEMES[parts.scheme]}://{parts.netloc}{path}",
        f"{ORIGIN_SCHEMES[parts.scheme]}://{parts.netloc}",
    )


def log_in(username):
    """A new session that logs in the probe user, made first if need be (with no
    password: nobody can log in as it)."""
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    elif user.has_usable_password():
        # The probe speaks as its user, and deletes what it said: never a person.
        raise CommandError(f"{username!r} is a person's account; the probe needs its own.")
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = SESSION_BACKEND
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session


async def send_round(url, origin, cookie, client_id, timeout):
    """Seconds from sending a message on one socket to its arrival on another."""
    try:
        async with asyncio.timeout(timeout):
            return await open_and_send(url, origin, cookie, client_id)
    except TimeoutError:
        raise ProbeFailed(f"no answer within {timeout:g} s") from None
    except InvalidStatus as exc:
        raise ProbeFailed(
            f"the handshake was refused with HTTP {exc.response.status_code}"
        ) from None
    except InvalidHandshake as exc:
        raise ProbeFailed(f"the handshake failed: {exc}") from None
    except ConnectionClosed as exc:
        raise ProbeFailed(f"the server closed the socket: {close_reason(exc)}") from None
    except OSError as exc:
        raise ProbeFailed(f"cannot connect: {exc}") from None


async def open_and_send(url, origin, cookie, client_id):
    headers = {"Cookie": cookie}
    async with (
        connect(url, origin=origin, additional_headers=headers) as sender,
        connect(url, origin=origin, additional_headers=headers) as receiver,
    ):
        # Each socket's first frame, once it is in the room, is a page of history.
        await next_frame(sender, protocol.CHAT_HISTORY)
        await next_frame(receiver, protocol.CHAT_HISTORY)
        started = time.perf_counter()
        await sender.send(json.dumps({"message": f"probe {client_id}", "client_id": client_id}))
        while (await next_frame(receiver, protocol.CHAT_MESSAGE)).get("client_id") != client_id:
            pass
        return time.perf_counter() - started


async def next_frame(websocket, frame_type):
    """The socket's next frame of ``frame_type``; ProbeFailed on an error frame."""
    while True:
        frame = json.loads(await websocket.recv())
        if frame.get("type") == protocol.ERROR:
            raise ProbeFailed(f"the server answered {frame.get('code')}: {frame.get('detail')}")
        if frame.get("type") == frame_type:
            return frame


def close_reason(closed):
    if closed.rcvd is None:
        return "the connection was lost"
    code = closed.rcvd.code
    name = protocol.CLOSE_CODES.get(code)
    return f"{code} ({name})" if name else str(code)
