"""Dashboard pages: sign-in, the caseload, the flag queue, a patient's page and the
calendar, the dashboard's own assets, and what the dashboard's views share (staff_required,
the base context). Staff access to patient records is noted by the selectors and written
to the audit trail by `recovery.audit_middleware`, as for the API. Thin: access through
the selectors, writes through the services. The POST actions (flags, attendance) are in
`recovery.web.actions`.

Staff only (counselors and supervisors of a program, like the API's IsClinician).
Anonymous visitors are sent to the sign-in page; anyone else signed in gets a 404, and
so does a patient outside the user's reach, exactly as in the API.

Sign-in asks for the authenticator code wherever the API would (StaffAuthenticationForm,
the same requires_second_factor rule); staff whose program requires two-factor and who
have not set it up are refused, so every session has passed the second factor.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import date, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.views import LoginView, LogoutView, redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from rest_framework_simplejwt.tokens import AccessToken

from backend.bounds import date_in_range
from backend.revocation import FAMILY_CLAIM
from backend.throttling import ScopedRateThrottle
from recovery.models import AttendanceStatus, Enrollment, Flag, LevelOfCare, Stage, User
from recovery.selectors.access import (
    assignable_staff,
    is_program_staff,
    is_program_supervisor,
    sessions_writable_by,
    visible_enrollment,
)
from recovery.selectors.dashboard import by_attention, caseload, needs_attention
from recovery.selectors.timeline import TimelineCursor, timeline
from recovery.services.tokens import new_family, tokens_revoke_family
from recovery.web import present
from recovery.web.forms import FlagFilterForm, StaffAuthenticationForm
from recovery.web.patient_forms import PostedForm, patient_forms_context
from recovery.web.patient_reads import attendance_counts_in_care, weeks_in_care
from recovery.web.score_charts import score_charts
from recovery.web.selectors import (
    care_path_history,
    daily_checkins,
    exercise_assignments,
    flag_queue,
    visible_flag,
    week_calendar,
)

ASSET_ROOT = Path(__file__).resolve().parent.parent / "static" / "dashboard"
SOCKET_TOKEN_LIFETIME = timedelta(minutes=5)
SOCKET_FAMILY_SESSION_KEY = "socket_token_family"
TIMELINE_PAGE = 50

View = Callable[..., HttpResponseBase]


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


# A one-time enrollment code waits in the session only for the page its POST redirects to
# (recovery.web.enrollment): the very next dashboard request takes it out, whichever it is,
# and hands it to its view on the request; sign-out deletes the whole session.
SHOWN_CODE_SESSION_KEY = "enrollment_code_to_show"
HELD_CODE_ATTRIBUTE = "held_enrollment_code"


def staff_required(view: View) -> View:
    """Sign-in for the anonymous, 404 for anyone who is not program staff; never cached."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            if _wants_json(request):
                return JsonResponse({"ok": False, "error": "signed_out"}, status=401)
            return redirect_to_login(request.get_full_path(), reverse("dashboard:login"))
        if not is_program_staff(request.user):
            raise Http404
        setattr(request, HELD_CODE_ATTRIBUTE, request.session.pop(SHOWN_CODE_SESSION_KEY, None))
        return view(request, *args, **kwargs)

    return never_cache(wrapper)


def _base_context(request: HttpRequest, active: str) -> dict[str, Any]:
    user = _user(request)
    program = user.program
    return {
        "active": active,
        "tz": zoneinfo.ZoneInfo(program.timezone) if program else zoneinfo.ZoneInfo("UTC"),
        "program": program,
    }


# --- sign-in ---------------------------------------------------------------------------


class DashboardLoginView(LoginView):
    template_name = "dashboard/login.html"
    authentication_form = StaffAuthenticationForm
    extra_context = {"tz": zoneinfo.ZoneInfo("UTC")}
    throttle_scope = "login"  # shares the API sign-in's rate limit per address

    def get_default_redirect_url(self) -> str:
        return reverse("dashboard:caseload")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Staff already signed in go on; anyone else signed in sees the form (to switch
        # to a staff account) rather than a redirect to a page that answers 404.
        if is_program_staff(request.user):
            return redirect(self.get_success_url())
        return super().dispatch(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not ScopedRateThrottle().allow_request(request, self):
            # Refused before any password is checked: an unbound form and a message.
            context = self.get_context_data(form=self.get_form_class()(request), throttled=True)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)


class DashboardLogoutView(LogoutView):
    """POST only (Django's rule). Also closes this user's open websockets, and the socket
    tokens this session handed out stop opening new ones."""

    def get_default_redirect_url(self) -> str:
        return reverse("dashboard:login")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user_id = request.user.pk if request.user.is_authenticated else None
        family = request.session.get(SOCKET_FAMILY_SESSION_KEY)
        response = super().post(request, *args, **kwargs)
        if user_id is not None:
            tokens_revoke_family(user_id=int(user_id), family=family)
        return response


@require_POST
@staff_required
def socket_token(request: HttpRequest) -> HttpResponse:
    """A short-lived JWT access token for the page's websocket (sent as its first message,
    never in a URL). The session stays the page's credential; this token only opens the
    socket, and the socket closes itself when the token expires."""
    token = AccessToken.for_user(_user(request))
    token.set_exp(lifetime=SOCKET_TOKEN_LIFETIME)
    # One family per session: signing out refuses every socket token it handed out.
    family = request.session.setdefault(SOCKET_FAMILY_SESSION_KEY, new_family())
    token[FAMILY_CLAIM] = family
    return JsonResponse(
        {"token": str(token), "expires_in": int(SOCKET_TOKEN_LIFETIME.total_seconds())}
    )


# --- pages -----------------------------------------------------------------------------


@require_safe
@staff_required
def caseload_page(request: HttpRequest) -> HttpResponse:
    """Who needs attention first (`?sort=name`: by name); `?show=attention` keeps only them;
    a supervisor picks one counselor's caseload (`?counselor=<id>`)."""
    user = _user(request)
    supervising = is_program_supervisor(user)
    staff = list(assignable_staff(program_id=user.program_id)) if supervising else []
    counselor = next((p for p in staff if str(p.id) == request.GET.get("counselor")), None)
    rows = caseload(user=user, counselor_id=counselor.id if counselor else None)
    attention_only = request.GET.get("show") == "attention"
    by_name = request.GET.get("sort") == "name"
    if attention_only:
        rows = [row for row in rows if needs_attention(row)]
    if not by_name:
        rows = by_attention(rows)
    context = {
        **_base_context(request, "caseload"),
        "rows": present.caseload_view(rows),
        "q": request.GET.get("q", ""),
        "attention_only": attention_only,
        "by_name": by_name,
        "staff": staff,
        "counselor": counselor,
    }
    return render(request, "dashboard/caseload.html", context)


def _next_url(request: HttpRequest, default: str) -> str:
    """Where a form on this page returns to without JavaScript: the `next` the page gave,
    if it is ours, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _flag_context(request: HttpRequest, next_url: str) -> dict[str, Any]:
    user = _user(request)
    return {
        "staff": list(assignable_staff(program_id=user.program_id)),
        "next_url": next_url,
    }


def _flag_row(request: HttpRequest, flag: Flag, *, error: list[str] | None = None) -> str:
    return render_to_string(
        "dashboard/_flag_row.html",
        {
            **_base_context(request, "flags"),
            **_flag_context(request, _next_url(request, reverse("dashboard:flags"))),
            "flag": flag,
            "errors": error or [],
        },
        request=request,
    )


@require_safe
@staff_required
def flag_queue_page(request: HttpRequest) -> HttpResponse:
    filters = FlagFilterForm(request.GET)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    flags = flag_queue(
        user=_user(request),
        assigned=chosen.get("assigned") or "",
        severity=chosen.get("severity"),
        kind=chosen.get("kind") or "",
        escalated=bool(chosen.get("escalated")),
    )
    filtered = any(chosen.get(name) for name in ("assigned", "severity", "kind", "escalated"))
    return render(
        request,
        "dashboard/flags.html",
        {
            **_base_context(request, "flags"),
            **_flag_context(request, request.get_full_path()),
            "flags": flags,
            "filters": filters,
            "filtered": filtered,
            "filter_values": chosen if filtered else {},
        },
        status=200 if filters.is_valid() else 400,
    )


@require_safe
@staff_required
def flag_row(request: HttpRequest, pk: int) -> HttpResponse:
    """One row of the queue, for the page's script to insert a flag that just arrived."""
    flag = visible_flag(user=_user(request), flag_id=pk)
    return HttpResponse(_flag_row(request, flag))


@require_safe
@staff_required
def patient_page(request: HttpRequest, pk: int) -> HttpResponse:
    return patient_page_response(request, visible_enrollment(_user(request), pk))


def patient_page_response(
    request: HttpRequest,
    enrollment: Enrollment,
    *,
    posted: PostedForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The patient's page; `posted`: a refused action form to show again with its errors
    (`recovery.web.patient_actions`)."""
    user = _user(request)
    # A cursor that does not parse shows the first page rather than an error.
    cursor = TimelineCursor.decode(request.GET.get("cursor", ""))
    entries = timeline(
        enrollment=enrollment, before=None, limit=TIMELINE_PAGE, cursor=cursor, reader=user
    )
    days = daily_checkins(enrollment=enrollment, days=30)
    return render(
        request,
        "dashboard/patient.html",
        {
            **_base_context(request, "caseload"),
            **_flag_context(request, request.get_full_path()),
            **patient_forms_context(user=user, enrollment=enrollment, posted=posted),
            "enrollment": enrollment,
            "patient": enrollment.patient,
            "stage": present.label(Stage, enrollment.stage),
            "level_of_care": present.label(LevelOfCare, enrollment.level_of_care),
            "mood_chart": present.line_chart(
                [(d.day, d.mood) for d in days], vmin=1, vmax=5, what="Mood (1 to 5)"
            ),
            "craving_chart": present.line_chart(
                [(d.day, d.craving) for d in days], vmin=0, vmax=10, what="Craving (0 to 10)"
            ),
            "score_charts": score_charts(enrollment=enrollment),
            "weeks": weeks_in_care(enrollment=enrollment, weeks=8),
            "attendance_counts": [
                (present.label(AttendanceStatus, status), n)
                for status, n in attendance_counts_in_care(enrollment=enrollment).items()
            ],
            "assignments": exercise_assignments(enrollment=enrollment),
            "history": [present.change_entry(c) for c in care_path_history(enrollment=enrollment)],
            "flags": flag_queue(user=user, enrollment=enrollment),
            "timeline": [present.timeline_entry(item) for item in entries],
            "older": (
                TimelineCursor.of(entries[-1]).encode() if len(entries) == TIMELINE_PAGE else None
            ),
            "paged": cursor is not None,
        },
        status=status,
    )


def _week_param(request: HttpRequest) -> date | None:
    try:
        week = date.fromisoformat(request.GET.get("week", ""))
    except ValueError:
        return None
    # Out of range falls back like nonsense does: 9999-12-31 has no following week.
    return week if date_in_range(week) else None


@require_safe
@staff_required
def calendar_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    week = week_calendar(user=user, week_of=_week_param(request))
    shown = [card.session.id for day in week.days for card in day.sessions]
    return render(
        request,
        "dashboard/calendar.html",
        {
            **_base_context(request, "calendar"),
            "week": week,
            # Which sessions this user may move or cancel (`recovery.web.calendar_edit`).
            "writable": set(
                sessions_writable_by(user).filter(id__in=shown).values_list("id", flat=True)
            ),
            "statuses": AttendanceStatus.choices,
            "next_url": request.get_full_path(),
        },
    )


# --- assets ----------------------------------------------------------------------------


@require_safe
def asset(request: HttpRequest, path: str) -> HttpResponseBase:
    """The dashboard's own CSS and JS, served by the app so that `make run` (uvicorn,
    which serves no static files) needs nothing more. Conditional GETs answer 304."""
    response = static.serve(request, path, document_root=str(ASSET_ROOT))
    response["Cache-Control"] = "no-cache" if settings.DEBUG else "public, max-age=300"
    return response
