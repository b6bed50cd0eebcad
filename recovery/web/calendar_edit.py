"""Editing the week calendar: a new session or weekly series; moving or cancelling one
occurrence, or the rest of its series. Thin: who may change what is `sessions_writable_by`
and `series_writable_by` (the API's rule), the rules are the services' (the forms ask
them), the writes are `session_create`, `session_update`, `session_cancel`,
`series_create`, `series_move_rest` and `series_cancel_rest`. Ordinary forms: a refusal
re-renders the page with each message on its field (400); success goes back to the
calendar's week with a message."""

from __future__ import annotations

import zoneinfo
from datetime import date, time

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from backend.errors import ServiceError
from backend.timezones import local_date, local_today
from recovery.models import SessionSeries, TreatmentSession, User
from recovery.selectors.access import (
    assignable_staff,
    series_writable_by,
    sessions_writable_by,
)
from recovery.services.series import series_cancel_rest, series_create, series_move_rest
from recovery.services.sessions import session_cancel, session_create, session_update
from recovery.web.calendar_forms import (
    CancelRestForm,
    MoveRestForm,
    MoveSessionForm,
    NewSessionForm,
)
from recovery.web.forms import add_service_error
from recovery.web.views import _base_context, _user, staff_required

DEFAULT_START = time(18, 0)
DEFAULT_END = time(19, 30)


def _week_url(day: date) -> str:
    return f"{reverse('dashboard:calendar')}?week={day.isoformat()}"


def _zone(user: User) -> zoneinfo.ZoneInfo:
    if user.program is None:
        raise Http404
    return zoneinfo.ZoneInfo(user.program.timezone)


def _initial_day(request: HttpRequest, zone: zoneinfo.ZoneInfo) -> date:
    """The day the calendar was showing (`?date=`), or today if that is past or nonsense."""
    today = local_today(zone)
    try:
        return max(date.fromisoformat(request.GET.get("date", "")), today)
    except ValueError:
        return today


@require_http_methods(["GET", "HEAD", "POST"])
@staff_required
def session_new_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    zone = _zone(user)
    initial = {
        "start_date": _initial_day(request, zone),
        "start_time": DEFAULT_START,
        "end_time": DEFAULT_END,
        "facilitator": assignable_staff(program_id=user.program_id).filter(id=user.id).first(),
    }
    posted = request.POST if request.method == "POST" else None
    form = NewSessionForm(posted, initial=initial, user=user, zone=zone)
    if posted is not None and form.is_valid():
        data = form.cleaned_data
        common = {
            "program_id": user.program_id,
            "kind": data["kind"],
            "title": data["title"],
            "location": data["location"],
            "facilitator": data["facilitator"],
            "patients": list(data["patients"]),
        }
        try:
            if form.is_series:
                series_create(
                    rule=form.rule(),
                    start_date=data["start_date"],
                    start_time=data["start_time"],
                    duration_minutes=form.duration_minutes(),
                    timezone_name=str(zone),
                    **common,
                )
                done = "Series created."
            else:
                session_create(starts_at=form.starts_at(), ends_at=form.ends_at(), **common)
                done = "Session created."
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, done)
            return redirect(_week_url(data["start_date"]))
    return render(
        request,
        "dashboard/session_new.html",
        {**_base_context(request, "calendar"), "form": form},
        status=400 if posted is not None else 200,
    )


def _writable_session(user: User, session_id: int) -> TreatmentSession:
    session = (
        sessions_writable_by(user).select_related("program", "series").filter(id=session_id).first()
    )
    if session is None:
        raise Http404
    return session


def _writable_series(user: User, session: TreatmentSession) -> SessionSeries | None:
    if session.series_id is None:
        return None
    return series_writable_by(user).filter(id=session.series_id).first()


@require_http_methods(["GET", "HEAD", "POST"])
@staff_required
def session_change_page(request: HttpRequest, session_id: int) -> HttpResponse:
    user = _user(request)
    session = _writable_session(user, session_id)
    zone = zoneinfo.ZoneInfo(session.program.timezone)
    series = _writable_series(user, session)
    action = request.POST.get("action", "") if request.method == "POST" else ""

    def data_for(name: str) -> QueryDict | None:
        return request.POST if action == name else None

    move = MoveSessionForm(data_for("move"), session=session, zone=zone)
    from_date = local_date(
        session.starts_at, zoneinfo.ZoneInfo(series.timezone if series else str(zone))
    )
    move_rest = cancel_rest = None
    if series is not None:
        move_rest = MoveRestForm(data_for("move_rest"), series=series, from_date=from_date)
        cancel_rest = CancelRestForm(data_for("cancel_rest"), from_instant=session.starts_at)
    back = _week_url(local_date(session.starts_at, zone))
    try:
        if action == "move" and move.is_valid():
            session = session_update(
                session=session, starts_at=move.starts_at(), ends_at=move.ends_at()
            )
            messages.success(request, "Session moved.")
            return redirect(_week_url(local_date(session.starts_at, zone)))
        if action == "cancel":
            session_cancel(session=session)
            messages.success(request, "Session cancelled.")
            return redirect(back)
        if action == "move_rest" and series and move_rest and move_rest.is_valid():
            series_move_rest(
                series=series,
                from_date=from_date,
                start_time=move_rest.cleaned_data["start_time"],
                duration_minutes=move_rest.duration_minutes(),
            )
            messages.success(request, "The rest of the series moved.")
            return redirect(back)
        if action == "cancel_rest" and series and cancel_rest and cancel_rest.is_valid():
            series_cancel_rest(series=series, from_instant=session.starts_at)
            messages.success(request, "The rest of the series is cancelled.")
            return redirect(back)
    except ServiceError as exc:
        form = {"move": move, "move_rest": move_rest, "cancel_rest": cancel_rest}.get(action)
        if form is not None:
            add_service_error(form, exc)
        else:  # cancelling one session has no form to show the refusal beside
            for message in exc.messages():
                messages.error(request, message)
    return render(
        request,
        "dashboard/session_change.html",
        {
            **_base_context(request, "calendar"),
            "session": session,
            "series": series,
            "starts": session.starts_at.astimezone(zone),
            "ends": session.ends_at.astimezone(zone),
            "from_date": from_date,
            "move": move,
            "move_rest": move_rest,
            "cancel_rest": cancel_rest,
        },
        status=400 if request.method == "POST" else 200,
    )
