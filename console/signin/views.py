"""Log-in, log-out and password change: full page loads (the CSRF token rotates on log-in)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from console.forms import PasswordChangeForm
from console.signin import provider
from console.signin.audit import sign_in_recorded

# The username a new member just chose a password for: the log-in page starts filled with it.
LOGIN_NAME = "console_login_name"


class LoginView(auth_views.LoginView):
    """The identity provider first when there is one; the password form unless
    CONSOLE_PASSWORD_LOGIN is off, and then for superusers on ``?password=1`` (break glass)."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def password_allowed(self) -> bool:
        return settings.CONSOLE_PASSWORD_LOGIN or self.request.GET.get("password") == "1"

    def get_initial(self) -> dict[str, Any]:
        initial = super().get_initial()
        name = self.request.session.pop(LOGIN_NAME, None)
        if isinstance(name, str) and self.request.method == "GET":
            initial["username"] = name
        return initial

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            provider_name=settings.CONSOLE_OIDC_NAME if provider.enabled() else "",
            password_form=self.password_allowed(),
            break_glass=not settings.CONSOLE_PASSWORD_LOGIN,
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.password_allowed():
            return HttpResponseForbidden("Password log-in is off; sign in through the provider.")
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if not settings.CONSOLE_PASSWORD_LOGIN and not user.is_superuser:
            # Break glass is for superusers only; everyone else signs in through the provider.
            form.add_error(
                None,
                f"Password log-in is off for this console; sign in with "
                f"{settings.CONSOLE_OIDC_NAME}.",
            )
            return self.form_invalid(form)
        response = super().form_valid(form)
        sign_in_recorded(self.request, user, "password")
        return response


class LogoutView(auth_views.LogoutView):
    """POST only (Django's rule); the browser is told to drop cached pages and storage. After
    a sign-in through the provider, the provider's own session is ended too when it offers an
    end-session endpoint."""

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        provider_logout = provider.end_session_url(request)
        response = super().post(request, *args, **kwargs)
        if provider_logout:
            response = HttpResponseRedirect(provider_logout)
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    """Django's PasswordChangeView as one function (the page every member can open; its class
    stack of decorators and mixins cost a tenth of its server time): the current password and
    a new one twice; on success the session stays signed in. Sign-in is required by
    LoginRequiredMiddleware, and the CSRF check by CsrfViewMiddleware, as on every page."""
    if request.method == "POST":
        form = PasswordChangeForm(request.user, request.POST)
        if form.is_valid():
            form.save()
            update_session_auth_hash(request, form.user)
            messages.success(request, "Your password was changed.")
            return HttpResponseRedirect(reverse("console:password-change"))
    else:
        form = PasswordChangeForm.shown_empty()  # the same empty fields for everyone
    context = {"form": form, "title": "Password change"}
    return TemplateResponse(request, "registration/password_change.html", context)
