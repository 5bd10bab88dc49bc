"""The pages of private rooms and direct conversations (rooms.views)."""

from django.urls import path

from rooms import views as member_views

app_name = "private"

urlpatterns = [
    path("rooms/new/", member_views.create_room, name="create"),
    path("members/<path:room>/", member_views.members, name="members"),
    path("invite/<str:key>/", member_views.join_by_link, name="invite"),
    path("dm/<str:username>/", member_views.direct, name="direct"),
]
