from django.urls import re_path

from chat import consumers

# Everything between "ws/chat/" and a last slash is the room name, slashes and newlines
# included: chat.room_names decides what is valid, and the consumer refuses the rest with
# close code 4400. (A <path:room> route does not match a newline, and a path no route
# matches fails the handshake with a server error instead.)
websocket_urlpatterns = [
    re_path(r"^ws/chat/(?P<room>[\s\S]*?)/?\Z", consumers.ChatConsumer.as_asgi()),
]
