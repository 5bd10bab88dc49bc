from django.contrib import admin
from django.urls import include, path

{% if cookiecutter.persist_messages -%}
from chat.api import api
{% endif -%}
from chat.views import PasswordResetView

urlpatterns = [
    path("admin/", admin.site.urls),
    # Before Django's own, which it stands in for.
    path("accounts/password_reset/", PasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    # The language switcher posts to i18n/setlang/ (Django's set_language).
    path("i18n/", include("django.conf.urls.i18n")),
{%- if cookiecutter.persist_messages %}
    path("api/", api.urls),
    path("", include("chat.member_urls")),
{%- endif %}
    path("", include("chat.urls")),
]
