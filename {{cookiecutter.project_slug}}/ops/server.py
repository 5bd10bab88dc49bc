"""The daphne server of config.serve: daphne, with limits at the edge that it leaves open.

- A connection must send each complete request within CHAT_HANDSHAKE_TIMEOUT seconds
  of opening or of its last response. Twisted's own timeout is an idle timeout of twelve
  hours, which any byte renews, so a client could hold connections that never become
  requests.
- A request body over CHAT_MAX_REQUEST_BODY bytes is refused with 413 before it is read.
- A socket may send at most CHAT_SOCKET_FRAME_BURST WebSocket frames at once, then
  CHAT_SOCKET_FRAMES_PER_SECOND, counting every frame (message fragments, pings, pongs),
  as its header is read and before anything else is done with it. Over that it is closed
  with 1008. Autobahn parses frames in Python and copies what is left of its buffer once
  per frame, so a read full of tiny frames (fragments of one message, or pings, which it
  answers one by one) cost the server's one thread far more than their bytes; no
  application limit sees fragments or pings.
- A socket closed for breaking a limit (a message over --websocket-max-message-size is
  1009) is told why in a close frame, where autobahn by default drops the connection.

And on SIGTERM it drains (ops.drain) before daphne stops its applications: open sockets
are sent elsewhere, and new WebSocket handshakes are answered 503, which a proxy (nginx's
proxy_next_upstream http_503, deploy/nginx.conf) passes on to another server process.
"""

import asyncio

import autobahn.websocket.protocol
from daphne.http_protocol import WebRequest
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from django.conf import settings
from twisted.internet import defer, reactor
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory

from chat import protocol
from chat.limits.flood import TokenBucket
from ops import drain


def unformatted(value):
    return "(not formatted: ops.server)"


# autobahn formats every option of a socket's protocol with pprint on each handshake, for
# a debug line that it builds whatever the log level and that daphne never shows
# (WebSocketProtocol._connectionMade): much of what a join costs the server. Its
# other uses of pformat build debug lines as well. ops/tests/test_serve.py checks that
# autobahn still does.
autobahn.websocket.protocol.pformat = unformatted


class ChatServer(Server):
    def run(self):
        # daphne makes its factories in run() and starts listening; the reactor calls
        # what is registered here once it runs, before it accepts any connection.
        reactor.callWhenRunning(self.set_limits)
        super().run()

    def set_limits(self):
        self.ws_factory.protocol = FrameLimitedWebSocket
        self.ws_factory.setProtocolOptions(failByDrop=False)
        build_http = self.http_factory.buildProtocol
        wrappers = WrappingFactory(self.http_factory)

        def build_with_deadline(address):
            connection = build_http(address)
            connection.requestFactory = BoundedRequest
            return RequestDeadline(wrappers, connection)

        self.http_factory.buildProtocol = build_with_deadline

    def kill_all_applications(self):
        # Called by the reactor when it is asked to stop (SIGTERM, SIGINT), which waits
        # for the Deferred before it closes any connection.
        stop_the_rest = super().kill_all_applications
        drained = defer.Deferred.fromFuture(
            asyncio.ensure_future(drain.drain(settings.CHAT_DRAIN_TIMEOUT))
        )
        drained.addBoth(lambda _: stop_the_rest())
        return drained


class RequestDeadline(ProtocolWrapper):
    """Aborts an HTTP connection that has not sent a complete request (headers and body)
    within CHAT_HANDSHAKE_TIMEOUT seconds of opening, or of its last response. (daphne
    upgrades a connection wrapped like this as it does one wrapped for TLS.)"""

    deadline = None

    def makeConnection(self, transport):
        super().makeConnection(transport)
        self.start()

    def start(self):
        self.stop()
        if isinstance(self.wrappedProtocol, WebSocketProtocol):
            return  # upgraded: a WebSocket has no deadline
        self.deadline = reactor.callLater(
            settings.CHAT_HANDSHAKE_TIMEOUT, self.transport.abortConnection
        )

    def stop(self):
        if self.deadline is not None and self.deadline.active():
            self.deadline.cancel()

    def connectionLost(self, reason):
        self.stop()
        super().connectionLost(reason)


class BoundedRequest(WebRequest):
    """A request that keeps to its connection's deadline, and whose body is refused with
    413 as soon as it is known to be over CHAT_MAX_REQUEST_BODY bytes, before it is read
    (Twisted would spool it whole to a temporary file; Django's own limits apply only
    once it has)."""

    body_bytes = 0
    refused = False

    def gotLength(self, length):
        if length is not None and length > settings.CHAT_MAX_REQUEST_BODY:
            self.refuse(b"413 Content Too Large")
            length = 0
        super().gotLength(length)

    def handleContentChunk(self, data):
        if self.refused:
            return
        self.body_bytes += len(data)
        if self.body_bytes > settings.CHAT_MAX_REQUEST_BODY:
            self.refuse(b"413 Content Too Large")
            return
        super().handleContentChunk(data)

    def refuse(self, status, headers=b""):
        self.refused = True
        self.channel.transport.write(
            b"HTTP/1.1 %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n" % (status, headers)
        )
        self.channel.transport.loseConnection()

    def process(self):
        if drain.is_draining() and self.getHeader(b"upgrade"):
            self.refuse(b"503 Service Unavailable", b"Retry-After: 1\r\n")
        if self.refused:
            return
        # Read whole: a WebSocket upgrade now has daphne's --websocket_connect_timeout to
        # be accepted, and an HTTP request as long as the application takes.
        self.channel.transport.stop()
        super().process()

    def finish(self):
        channel = getattr(self, "channel", None)
        super().finish()
        # A connection kept alive for another request has the same time for it.
        if channel is not None and isinstance(channel.transport, RequestDeadline):
            channel.transport.start()


class FrameLimitedWebSocket(WebSocketProtocol):
    frames = None

    def onFrameBegin(self):
        if self.frames is None:
            self.frames = TokenBucket(
                rate=settings.CHAT_SOCKET_FRAMES_PER_SECOND,
                burst=settings.CHAT_SOCKET_FRAME_BURST,
            )
        if self.frames.take():
            self.close_for_flooding()
            return
        super().onFrameBegin()

    def close_for_flooding(self):
        # Sent and dropped at once: nothing more of what the client sent is read.
        self.data = b""
        self.sendCloseFrame(code=protocol.CLOSE_TOO_MANY_FRAMES, reasonUtf8=b"too many frames")
        self.dropConnection(abort=False)
