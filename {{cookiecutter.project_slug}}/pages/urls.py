from django.urls import path

from pages import views

app_name = "chat"

urlpatterns = [
    path("", views.lobby, name="lobby"),
    path("chat/<path:room>/", views.room, name="room"),
]
