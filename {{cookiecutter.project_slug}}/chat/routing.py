from django.urls import path

from chat import consumers

# <path:> so that room names may contain slashes; chat.rooms decides what is valid.
websocket_urlpatterns = [
    path("ws/chat/<path:room>/", consumers.ChatConsumer.as_asgi()),
]
