"""The daphne server of config.serve: daphne, with limits at the edge that it leaves open.

- A connection must send its first complete request within CHAT_HANDSHAKE_TIMEOUT
  seconds of opening. Twisted's own timeout is an idle timeout of twelve hours, which
  any byte renews, so a client could hold connections that never become requests.
- A socket may send at most CHAT_SOCKET_FRAME_BURST WebSocket frames at once, then
  CHAT_SOCKET_FRAMES_PER_SECOND, counting every frame (message fragments, pings, pongs),
  as its header is read and before anything else is done with it. Over that it is closed
  with 1008. Autobahn parses frames in Python and copies what is left of its buffer once
  per frame, so a read full of tiny frames (fragments of one message, or pings, which it
  answers one by one) cost the server's one thread far more than their bytes; no
  application limit sees fragments or pings.
- A socket closed for breaking a limit (a message over --websocket-max-message-size is
  1009) is told why in a close frame, where autobahn by default drops the connection.
"""

from daphne.http_protocol import WebRequest
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from django.conf import settings
from twisted.internet import reactor
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory

from chat import protocol
from chat.ratelimit import TokenBucket


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
            connection.requestFactory = RequestWithinDeadline
            return HandshakeDeadline(wrappers, connection)

        self.http_factory.buildProtocol = build_with_deadline


class HandshakeDeadline(ProtocolWrapper):
    """Aborts a connection whose first request is not complete within
    CHAT_HANDSHAKE_TIMEOUT seconds of its opening. (daphne upgrades a connection wrapped
    like this as it does one wrapped for TLS.)"""

    deadline = None

    def makeConnection(self, transport):
        self.deadline = reactor.callLater(
            settings.CHAT_HANDSHAKE_TIMEOUT, transport.abortConnection
        )
        super().makeConnection(transport)

    def request_received(self):
        if self.deadline is not None and self.deadline.active():
            self.deadline.cancel()

    def connectionLost(self, reason):
        self.request_received()
        super().connectionLost(reason)


class RequestWithinDeadline(WebRequest):
    def process(self):
        # Called once the request is read whole; a WebSocket upgrade then has daphne's
        # --websocket_connect_timeout to be accepted.
        self.channel.transport.request_received()
        super().process()


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
