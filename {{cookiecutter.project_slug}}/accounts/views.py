from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_ratelimit.core import is_ratelimited

from accounts.forms import SignupForm


def signup(request):
    next_url = request.POST.get("next", request.GET.get("next", ""))
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    status = 200
    if request.method == "POST":
        form = SignupForm(request.POST)
        if over_rate(request, "signup", settings.CHAT_SIGNUP_RATE):
            form.add_error(None, _("Too many sign-ups from your network. Please try again later."))
            status = 429
        elif form.is_valid():
            # The account was made here, not found by a backend: say which logs it in.
            login(request, form.save(), backend="django.contrib.auth.backends.ModelBackend")
            return redirect(next_url or "chat:lobby")
    else:
        form = SignupForm()
    context = {"form": form, "next": next_url}
    return render(request, "registration/signup.html", context, status=status)


def over_rate(request, group, rate):
    """Count the request against its client address's ``rate`` ("10/h") in ``group``;
    whether it is over."""
    return is_ratelimited(request, group=group, key="ip", rate=rate, increment=True)


def password_resets_offered():
    # Without e-mail the reset link could never arrive.
    return bool(settings.EMAIL_HOST)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, offered only where e-mail is configured, and counted per client address."""

    def dispatch(self, request, *args, **kwargs):
        if not password_resets_offered():
            raise Http404("Password resets are not offered: e-mail is not configured.")
        return super().dispatch(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if over_rate(request, "password_reset", settings.CHAT_PASSWORD_RESET_RATE):
            form = self.get_form()
            form.add_error(
                None, _("Too many password resets from your network. Please try again later.")
            )
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)
