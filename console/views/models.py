"""Model pages: list and search, new, detail, edit, delete, base models."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_http_methods

from console.audit_words import value_words
from console.forms import CREATION_MODES, DeleteModelForm, ModelForm
from console.fragments import Marked, answer_digest, answers_state, fragment, mirror_state
from console.htmx import HtmxHttpRequest
from console.roles import Role, has_role, requires
from console.selectors.mirror import (
    ACTIVE_CATEGORIES,
    latest_runs,
    mirror_freshness,
    model_recent_runs,
    model_sync_state,
)
from console.selectors.tokens import token_record
from console.services.drgero import Outcome, Problem
from console.services.models import (
    PAGE_SIZE,
    SEARCH_BOUND,
    ModelDetail,
    ModelsPage,
    NameMismatchError,
    base_model_name,
    base_model_names_kept,
    base_models_list,
    leaderboard_picker,
    model_create,
    model_delete,
    model_detail,
    model_detail_recorded,
    model_fields,
    model_get,
    model_update,
    models_page,
    models_page_recorded,
)
from console.services.schedules import ScheduleChoice, schedule_sentence
from console.services.screens import stand_in
from console.templatetags.console_tables import model_rows
from console.templatetags.console_tags import relative_from
from console.views.htmx import page_number, redirect_after_success, render_screen, stop_polling


def abilities(request: HtmxHttpRequest) -> dict[str, Any]:
    """What this member may do here: their console role, whether they saved a Dr.Gero token,
    and what Dr.Gero refused that token. A missing button is explained by the template: a
    "needs the … role" note, the add-your-token banner, or the refused scope."""
    record = token_record(request.user)
    refused = list(record.refused_scopes) if record else []
    has_token = record is not None
    write = has_token and "models:write" not in refused
    return {
        "can_edit": has_role(request.user, Role.OPERATOR) and write,
        "can_delete": has_role(request.user, Role.ADMIN) and write,
        "can_run": has_role(request.user, Role.OPERATOR)
        and has_token
        and "models:fine-tune" not in refused,
        "is_operator": has_role(request.user, Role.OPERATOR),
        "is_admin": has_role(request.user, Role.ADMIN),
        "has_token": has_token,
        "refused": refused,
    }


def _status(problem: Problem | None) -> int:
    return problem.page_status if problem is not None else 200


@require_GET
@requires(Role.VIEWER)
def models_list(request: HtmxHttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    able = abilities(request)
    recorded_at = None
    if able["has_token"]:
        outcome = models_page(user=request.user, page=page_number(request), query=query)
    else:
        # No token of their own: the models as the console last read them, to follow.
        recorded = models_page_recorded(page=page_number(request), query=query)
        outcome, recorded_at = Outcome(value=recorded.page), recorded.read_at
    shown = [m.id for m in outcome.value.models] if outcome.value else []
    rows, latest = _model_rows(outcome.value)
    context = {
        "result": outcome.value,
        "rows": rows,
        "latest_runs": latest,
        "latest_poll": _latest_poll(shown, latest),
        "poll_seconds": settings.CONSOLE_POLL_SECONDS,
        "problem": outcome.problem,
        "q": query,
        "search_bound": SEARCH_BOUND,
        "recorded": not able["has_token"],
        "recorded_at": recorded_at,
        **able,
    }
    return render_screen(
        request,
        "console/models_list.html",
        "models-table",
        context,
        status=_status(outcome.problem),
    )


def _model_rows(result: ModelsPage | None) -> tuple[str, dict[str, Any]]:
    """The table's rows and each model's latest run. The same answer from Dr.Gero with the
    same runs mirror gives the same rows, so they are rendered once per answer and state of
    the mirror (console.fragments); relative times are filled in for this request."""
    if result is None:
        return "", {}
    models = result.models

    def render() -> tuple[Marked, dict[str, Any]]:
        latest = latest_runs([m.id for m in models])
        return Marked.of(model_rows(models, latest)), latest

    state = mirror_state() if result.answer else None
    key = ("models-rows", result.answer, timezone.get_current_timezone_name())
    rows, latest = fragment(key, render, state=state)
    return _filled(rows), latest


def _filled(kept: Marked) -> SafeString:
    """A kept fragment with this request's relative times (the models' fragments hold no
    form, so no CSRF token)."""
    return SafeString(kept.filled(csrf="", now=timezone.now(), relative=relative_from))


def _latest_poll(shown: list[str], latest: dict[str, Any]) -> str:
    """The poll that keeps the list's latest runs current while any of them is going; ""
    when none is."""
    if not any(r.category in ACTIVE_CATEGORIES for r in latest.values()):
        return ""
    return reverse("console:models-latest") + "?" + urlencode([("m", m) for m in shown])


@require_GET
@requires(Role.VIEWER)
def models_latest(request: HtmxHttpRequest) -> HttpResponse:
    """The models list's poll: each row's latest run, from the mirror (no Dr.Gero call), and
    the poll again while a run is still going."""
    shown = request.GET.getlist("m")[:PAGE_SIZE]
    latest = latest_runs(shown)
    context = {
        "shown": shown,
        "latest_runs": latest,
        "latest_poll": _latest_poll(shown, latest),
        "poll_seconds": settings.CONSOLE_POLL_SECONDS,
    }
    response = render(request, "console/models_list.html#latest-poll", context)
    if not context["latest_poll"]:
        return stop_polling(response)
    return response


def _form_screen(
    request: HtmxHttpRequest,
    form: ModelForm,
    *,
    model: Any = None,
    problem: Problem | None = None,
    picker_problem: Problem | None = None,
    status: int = 200,
    intent: uuid.UUID | None = None,
) -> HttpResponse:
    context = {
        "intent": intent,
        "form": form,
        "model": model,
        "problem": problem,
        "picker_problem": picker_problem,
        **abilities(request),
    }
    return render_screen(request, "console/model_form.html", "model-form", context, status=status)


def _apply_field_errors(form: ModelForm, problem: Problem) -> None:
    """Dr.Gero's 400 details go next to the matching fields."""
    for api_name, message in problem.field_errors.items():
        field = {"leaderboard_ids": "leaderboards" if form.picker else "leaderboard_ids"}.get(
            api_name, api_name
        )
        if field in form.fields:
            form.add_error(field, f"Dr.Gero: {message}")


@require_http_methods(["GET", "POST"])
@requires(Role.OPERATOR)
def model_new(request: HtmxHttpRequest) -> HttpResponse:
    picker = leaderboard_picker(user=request.user)
    # The form carries one intent id: sending it again never creates a second model.
    intent = _intent(request.POST.get("intent")) if request.method == "POST" else uuid.uuid4()
    if picker.problem and picker.problem.needs_token:
        return _form_screen(request, ModelForm(leaderboards=[]), problem=picker.problem)
    if request.method == "GET":
        return _form_screen(
            request,
            ModelForm(leaderboards=picker.leaderboards),
            picker_problem=picker.problem,
            intent=intent,
        )
    form = ModelForm(request.POST, leaderboards=picker.leaderboards)
    if not form.is_valid():
        return _form_screen(request, form, picker_problem=picker.problem, status=422, intent=intent)
    result = model_create(
        user=request.user, fields=form.api_fields(), intent=intent, request=request
    )
    if result.model is None:
        problem = result.problem
        if problem is not None:
            _apply_field_errors(form, problem)
        elif result.already:
            messages.info(request, "This model is being created already; check the list.")
            return redirect_after_success(request, reverse("console:models"))
        return _form_screen(request, form, problem=problem, status=422, intent=intent)
    if result.already:
        messages.info(
            request, f"“{result.model.name}” was created already; nothing was sent again."
        )
    else:
        messages.success(request, f"“{result.model.name}” was created in Dr.Gero.")
    return redirect_after_success(request, reverse("console:model-detail", args=[result.model.id]))


def _intent(value: str | None) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return uuid.uuid4()


@require_GET
@requires(Role.VIEWER)
def model_detail_view(request: HtmxHttpRequest, model_id: str) -> HttpResponse:
    able = abilities(request)

    def mirror_reads(ident: str) -> dict[str, Any]:
        """What the page reads from the console's own record of the model, and its latest
        runs' card rendered from it."""
        reads = {
            "model_id": ident,
            "runs": model_recent_runs(ident),
            "freshness": mirror_freshness(ident),
            "sync_state": model_sync_state(ident),
            "can_run": able["can_run"],
            "runs_url": reverse("console:model-runs", args=[ident]),
        }
        reads["model_runs"] = render_to_string("console/model_detail.html#model-runs", reads)
        return reads

    reads = None
    kept_names = None
    if able["has_token"]:

        def meanwhile() -> dict[str, Any]:
            nonlocal kept_names
            kept_names = base_model_names_kept(user=request.user)
            return mirror_reads(model_id)

        # Read, and the runs' card rendered, while Dr.Gero answers, by the address's id.
        outcome, reads = model_detail(user=request.user, model_id=model_id, meanwhile=meanwhile)
    else:
        outcome = model_detail_recorded(model_id=model_id)
    context = {"detail": outcome.value, "problem": outcome.problem, **able}
    if outcome.value is not None:
        model = outcome.value.model
        if reads is None or model.id != model_id:  # Dr.Gero's id is the one that counts
            reads = mirror_reads(model.id)
        context.update(reads)
        base = model.raw.get("base_model_id") or model.raw.get("baseModelId")
        base_words = ""
        if isinstance(base, str) and base:
            base_words = (
                base_model_name(user=request.user, base_model_id=base, kept=kept_names)
                if able["has_token"]
                else outcome.value.base_model_name or base
            )
        context["model_cards"], context["model_other"] = _model_cards(
            outcome.value, base_words, is_operator=able["is_operator"]
        )
    return render(request, "console/model_detail.html", context, status=_status(outcome.problem))


def _model_cards(detail: ModelDetail, base_words: str, *, is_operator: bool) -> tuple[str, str]:
    """A model page's settings, schedule and leaderboards, and its other details: the same
    answer from Dr.Gero, for the same role and display zone, gives the same cards, so they are
    rendered once and kept (console.fragments); relative times are filled in for this request.
    """
    model = detail.model

    def render() -> tuple[Marked, Marked]:
        other = model.other_details()
        other.pop("base_model_id", None)
        other.pop("baseModelId", None)
        context = {
            "detail": detail,
            "base_model": base_words,
            "is_operator": is_operator,
            # As words, never Python's values (None, True, dicts).
            "other": {k: value_words(v) for k, v in other.items()},
            "creation_words": dict(CREATION_MODES).get(model.creation_mode or "", ""),
            "schedule_url": reverse("console:schedule", args=[model.id]),
            "schedule_sentence": schedule_sentence(
                model.name, ScheduleChoice.from_schedule(model.schedule)
            ),
        }
        return (
            Marked.of(render_to_string("console/model_detail.html#model-cards", context)),
            Marked.of(render_to_string("console/model_detail.html#model-other", context)),
        )

    boards = detail.leaderboards
    key = (
        "model-cards",
        answer_digest(model.raw),
        tuple((b.id, b.name, b.description) for b in boards.value or ()),
        boards.problem.message if boards.problem else None,
        base_words,
        is_operator,
        timezone.get_current_timezone_name(),
    )
    cards, other = fragment(key, render, state=answers_state())
    return _filled(cards), _filled(other)


@require_http_methods(["GET", "POST"])
@requires(Role.OPERATOR)
def model_edit(request: HtmxHttpRequest, model_id: str) -> HttpResponse:
    current = model_get(user=request.user, model_id=model_id)
    if current.value is None:
        kept = stand_in(model_id, current.problem) if request.method == "POST" else None
        if kept is not None:
            # Nothing is lost: the form comes back as typed, with the problem above it.
            picked = "leaderboards" in request.POST or "leaderboard_ids" not in request.POST
            form = ModelForm(
                request.POST,
                leaderboards=[] if picked else None,
                keep_ids=request.POST.getlist("leaderboards"),
                keep_mode=request.POST.get("creation_mode"),
            )
            form.is_valid()
            return _form_screen(request, form, model=kept, problem=current.problem, status=503)
        return render(
            request,
            "console/model_form.html",
            {
                "form": None,
                "problem": current.problem,
                "model": stand_in(model_id, current.problem),
                **abilities(request),
            },
            status=_status(current.problem),
        )
    model = current.value
    picker = leaderboard_picker(user=request.user)
    options: dict[str, Any] = {
        "leaderboards": picker.leaderboards,
        "keep_ids": list(model.leaderboard_ids),
        "keep_mode": model.creation_mode,
    }
    if request.method == "GET":
        initial = ModelForm.initial_from(
            model_fields(model), picker=picker.leaderboards is not None
        )
        form = ModelForm(initial=initial, **options)
        return _form_screen(request, form, model=model, picker_problem=picker.problem)
    form = ModelForm(request.POST, **options)
    if not form.is_valid():
        return _form_screen(request, form, model=model, status=422)
    outcome = model_update(
        user=request.user, model_id=model_id, fields=form.api_fields(), request=request
    )
    if outcome.value is None:
        problem = outcome.problem
        if problem is not None:
            _apply_field_errors(form, problem)
        return _form_screen(request, form, model=model, problem=problem, status=422)
    if outcome.value.changed:
        messages.success(request, f"Saved: {', '.join(sorted(outcome.value.changed))}.")
    else:
        messages.info(request, "Nothing changed, so nothing was sent to Dr.Gero.")
    return redirect_after_success(request, reverse("console:model-detail", args=[model_id]))


@require_http_methods(["GET", "POST"])
@requires(Role.ADMIN)
def model_delete_view(request: HtmxHttpRequest, model_id: str) -> HttpResponse:
    current = model_get(user=request.user, model_id=model_id)
    if current.value is None:
        return render(
            request,
            "console/model_delete.html",
            {"model": None, "problem": current.problem},
            status=_status(current.problem),
        )
    model = current.value
    form = DeleteModelForm(request.POST or None, expected=model.name)
    context: dict[str, Any] = {"model": model, "form": form, **abilities(request)}
    if request.method == "GET":
        return render(request, "console/model_delete.html", context)
    if not form.is_valid():
        return render(request, "console/model_delete.html", context, status=422)
    try:
        outcome = model_delete(
            user=request.user,
            model_id=model_id,
            typed_name=form.cleaned_data["confirm_name"],
            request=request,
        )
    except NameMismatchError:
        form.add_error("confirm_name", "The model was renamed meanwhile; type its new name.")
        return render(request, "console/model_delete.html", context, status=422)
    if outcome.problem is not None:
        context["problem"] = outcome.problem
        return render(request, "console/model_delete.html", context, status=422)
    messages.success(request, f"“{model.name}” was deleted in Dr.Gero.")
    return redirect_after_success(request, reverse("console:models"))


@require_GET
@requires(Role.VIEWER)
def base_models(request: HtmxHttpRequest) -> HttpResponse:
    outcome = base_models_list(user=request.user)
    context = {"base_models": outcome.value, "problem": outcome.problem}
    return render(request, "console/base_models.html", context, status=_status(outcome.problem))
