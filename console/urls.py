"""The page map; every URL name lives in the ``console`` namespace."""

from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, register_converter

from console.signin import provider
from console.signin import views as auth
from console.views import (
    account,
    audit,
    health,
    home,
    inbox,
    models,
    run_page,
    run_start,
    runs,
    schedules,
    team,
)


class DrGeroIdConverter:
    """A Dr.Gero id in a console URL: UUIDs, and other ids of letters, digits and ``-_.:~``.

    An id made only of dots never matches, and ``/`` cannot, so no id can climb out of the path
    the client builds for Dr.Gero.
    """

    regex = r"(?![.]+(?:/|$))[A-Za-z0-9_.:~-]{1,128}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(DrGeroIdConverter, "drgero_id")

console_patterns = [
    path("", home.home, name="home"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("login/oidc/", login_not_required(provider.ProviderSignIn.as_view()), name="oidc-login"),
    path(
        "login/oidc/callback/",
        login_not_required(provider.ProviderCallback.as_view()),
        name="oidc-callback",
    ),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("account/password/", auth.password_change, name="password-change"),
    path(
        "account/set-password/<uidb64>/<token>/",
        team.SetPasswordView.as_view(),
        name="set-password",
    ),
    path("account/token/", account.token_page, name="token"),
    path("account/token/recheck/", account.token_recheck_view, name="token-recheck"),
    path("account/token/remove/", account.token_remove_view, name="token-remove"),
    path("account/notifications/", account.notifications_page, name="notifications"),
    path("account/email/send/", account.email_confirmation_send, name="email-send"),
    path("account/email/confirm/<str:token>/", account.email_confirm, name="email-confirm"),
    path("account/link/", account.account_link, name="account-link"),
    path("notices/", account.notices_poll, name="notices"),
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/read/", inbox.inbox_read, name="inbox-read"),
    path("models/", models.models_list, name="models"),
    path("models/new/", models.model_new, name="model-new"),
    path("models/latest-runs/", models.models_latest, name="models-latest"),
    path("models/<drgero_id:model_id>/", models.model_detail_view, name="model-detail"),
    path("models/<drgero_id:model_id>/edit/", models.model_edit, name="model-edit"),
    path("models/<drgero_id:model_id>/delete/", models.model_delete_view, name="model-delete"),
    path("models/<drgero_id:model_id>/runs/", runs.runs_for_model, name="model-runs"),
    path(
        "models/<drgero_id:model_id>/runs/export.csv",
        runs.runs_export_for_model,
        name="model-runs-export",
    ),
    path("models/<drgero_id:model_id>/runs/new/", run_start.run_form, name="run-new"),
    path("models/<drgero_id:model_id>/runs/preview/", run_start.run_preview, name="run-preview"),
    path(
        "models/<drgero_id:model_id>/runs/confirm/<uuid:submission>/",
        run_start.run_confirm,
        name="run-confirm",
    ),
    path("models/<drgero_id:model_id>/sync/", runs.model_sync, name="model-sync"),
    path("models/<drgero_id:model_id>/schedule/", schedules.schedule_page, name="schedule"),
    path(
        "models/<drgero_id:model_id>/schedule/preview/",
        schedules.schedule_preview,
        name="schedule-preview",
    ),
    path(
        "models/<drgero_id:model_id>/schedule/confirm/",
        schedules.schedule_confirm,
        name="schedule-confirm",
    ),
    path(
        "models/<drgero_id:model_id>/schedule/summary/",
        schedules.schedule_summary,
        name="schedule-summary",
    ),
    path("runs/", runs.runs_all, name="runs"),
    path("runs/export.csv", runs.runs_export, name="runs-export"),
    path("runs/<drgero_id:run_id>/", run_page.run_detail, name="run-detail"),
    path("base-models/", models.base_models, name="base-models"),
    path("audit/", audit.audit_log, name="audit"),
    path("audit/export.csv", audit.audit_export_csv, name="audit-export-csv"),
    path("audit/export.jsonl", audit.audit_export_jsonl, name="audit-export-jsonl"),
    path("team/", team.team, name="team"),
    path("team/add/", team.team_add, name="team-add"),
    path("team/webhook/", team.team_webhook, name="team-webhook"),
    path("team/<int:user_id>/role/", team.team_role, name="team-role"),
    path("team/<int:user_id>/deactivate/", team.team_deactivate, name="team-deactivate"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]

urlpatterns = [path("", include((console_patterns, "console")))]
