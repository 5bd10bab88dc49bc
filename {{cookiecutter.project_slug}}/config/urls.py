from django.contrib import admin
from django.urls import include, path

from accounts.views import PasswordResetView
{%- if cookiecutter.persist_messages %}
from api.views import api
{%- endif %}

urlpatterns = [
    path("admin/", admin.site.urls),
    # Before Django's own, which it stands in for.
    path("accounts/password_reset/", PasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    # The language switcher posts to i18n/setlang/ (Django's set_language).
    path("i18n/", include("django.conf.urls.i18n")),
{%- if cookiecutter.persist_messages %}
    path("api/", api.urls),
    path("", include("rooms.urls")),
{%- endif %}
    path("", include("pages.urls")),
]
