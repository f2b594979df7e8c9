"""Team administration (Admins): members, roles, deactivation."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.forms import (
    MemberAddForm,
    RoleForm,
    SetPasswordForm,
    WebhookForm,
    role_from_choice,
)
from console.htmx import HtmxHttpRequest, wants_partial
from console.roles import Role, requires
from console.selectors.team import role_change, role_managed_by_provider, team_members
from console.services.emails import invitation_send
from console.services.team import (
    TeamRuleError,
    member_add,
    member_deactivate,
    member_set_role,
    role_label,
)
from console.services.webhook import webhook_remove, webhook_save, webhook_status
from console.signin.views import LOGIN_NAME
from console.views.htmx import redirect_after_success, render_screen


def _team(
    request: HtmxHttpRequest, form: MemberAddForm, *, status: int = 200, **extra: object
) -> HttpResponse:
    context = {
        "members": team_members(),
        "provider_name": settings.CONSOLE_OIDC_NAME,
        "form": form,
        "role_form": RoleForm(),
        "webhook_form": WebhookForm(),
        **webhook_status(),
        **extra,
    }
    return render_screen(request, "console/team.html", "member-add", context, status=status)


@require_GET
@requires(Role.ADMIN)
def team(request: HtmxHttpRequest) -> HttpResponse:
    return _team(request, MemberAddForm())


@sensitive_post_parameters("url")
@require_POST
@requires(Role.ADMIN)
def team_webhook(request: HtmxHttpRequest) -> HttpResponse:
    """Save or remove the team webhook; the address is never shown back."""
    if request.POST.get("remove"):
        if webhook_remove(actor=request.user, request=request):
            messages.success(request, "The team webhook was removed.")
        return redirect_after_success(request, reverse("console:team"))
    form = WebhookForm(request.POST)
    if not form.is_valid():
        return _team(request, MemberAddForm(), status=422, webhook_form=form)
    webhook_save(actor=request.user, url=form.cleaned_data["url"], request=request)
    messages.success(request, "The team webhook was saved. It is called each time a run ends.")
    return redirect_after_success(request, reverse("console:team"))


@sensitive_post_parameters("password")
@require_POST
@requires(Role.ADMIN)
def team_add(request: HtmxHttpRequest) -> HttpResponse:
    form = MemberAddForm(request.POST)
    if not form.is_valid():
        return _team(request, form, status=422)
    added = member_add(
        actor=request.user,
        username=form.cleaned_data["username"],
        email=form.cleaned_data["email"],
        role=role_from_choice(form.cleaned_data["role"]),
        password=form.cleaned_data["password"] or None,
        request=request,
    )
    link = request.build_absolute_uri(added.set_password_path) if added.set_password_path else ""
    mailed = bool(link and added.user.email) and invitation_send(user=added.user, link=link)
    if mailed:
        link = ""  # sent where it belongs; not shown here as well
    else:
        messages.success(request, f"{added.user.username} was added.")
    if not link and not mailed and not wants_partial(request):
        return redirect("console:team")
    # Shown once, on this answer only; it is never stored or logged by the console.
    # The add form comes back empty, and the members table beside it is swapped out of band.
    return _team(
        request,
        MemberAddForm(),
        oob=wants_partial(request),
        new_member=added.user,
        set_password_link=link,
        mailed_to=added.user.email if mailed else "",
        mail_failed=bool(link and added.user.email),
    )


@require_POST
@requires(Role.ADMIN)
def team_role(request: HtmxHttpRequest, user_id: int) -> HttpResponse:
    """Asks first (what the member gains or loses), then changes the role on "confirm"."""
    member = get_object_or_404(get_user_model(), pk=user_id, is_active=True)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
        return redirect("console:team")
    role = role_from_choice(form.cleaned_data["role"])
    if role_managed_by_provider(member):
        messages.error(
            request,
            f"{settings.CONSOLE_OIDC_NAME} sets this member's role; change their groups there.",
        )
        return redirect("console:team")
    change = role_change(actor=request.user, member=member, role=role)
    if change.unchanged:
        messages.info(request, f"{member.username} is already {role.label}; nothing changed.")
        return redirect("console:team")
    if request.POST.get("step") != "confirm":
        context = {"member": member, "change": change, "role_key": form.cleaned_data["role"]}
        return render(request, "console/team_role.html", context)
    try:
        member_set_role(actor=request.user, member=member, role=role, request=request)
    except TeamRuleError as exc:
        messages.error(request, str(exc))
        return redirect("console:team")
    messages.success(request, f"{member.username} is now {role_label(member)}.")
    if change.self_demotion:
        return redirect("console:models")
    return redirect("console:team")


@require_http_methods(["GET", "POST"])
@requires(Role.ADMIN)
def team_deactivate(request: HtmxHttpRequest, user_id: int) -> HttpResponse:
    member = get_object_or_404(get_user_model(), pk=user_id, is_active=True)
    if request.method == "GET":
        return render(request, "console/team_deactivate.html", {"member": member})
    try:
        member_deactivate(actor=request.user, member=member, request=request)
    except TeamRuleError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{member.username} was deactivated and their token deleted.")
    return redirect("console:team")


@method_decorator(login_not_required, name="dispatch")
class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The one-time link a new member uses to choose a password."""

    template_name = "registration/set_password.html"
    form_class = SetPasswordForm
    success_url = reverse_lazy("console:login")
    post_reset_login = False

    def form_valid(self, form: Any) -> HttpResponse:
        messages.success(self.request, "Your password was set; you can log in now.")
        # The log-in page that follows is filled with the username the link was for.
        self.request.session[LOGIN_NAME] = form.user.get_username()
        return super().form_valid(form)
