"""Dashboard actions: acknowledge, assign, resolve and reopen a flag; mark attendance. Thin:
access through the selectors, writes through the services; staff only, like the pages
(`recovery.web.views.staff_required`).

Actions are ordinary POST forms with the CSRF token: they work without JavaScript
(redirect back with a message) and, when the page's script sends them with
`Accept: application/json`, answer JSON with the re-rendered fragment to swap in place.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from backend.errors import ServiceError
from recovery.models import AttendanceStatus, Flag, FlagResolution, FlagStatus, User
from recovery.services import flags as flag_services
from recovery.services.sessions import attendance_record
from recovery.web import present
from recovery.web.forms import (
    AssignForm,
    AttendanceForm,
    ReopenForm,
    ResolveForm,
    add_service_error,
)
from recovery.web.selectors import SessionPatient, session_card, visible_flag, visible_session
from recovery.web.views import (
    _base_context,
    _flag_row,
    _next_url,
    _user,
    _wants_json,
    staff_required,
)


def _form_errors(form: Any) -> list[str]:
    return [str(m) for errors in form.errors.values() for m in errors]


def _back(request: HttpRequest, default: str) -> HttpResponse:
    return redirect(_next_url(request, default))


def _refused(request: HttpRequest, errors: list[str], default: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"ok": False, "errors": errors}, status=400)
    for message in errors:
        messages.error(request, message)
    return _back(request, default)


def _flag_action(
    request: HttpRequest,
    pk: int,
    act: Callable[[Flag, User], Flag | list[str]],
    done: str,
    *,
    leaves: str = FlagStatus.RESOLVED,
) -> HttpResponse:
    """Act on a flag; the page's script drops the row when the flag takes the status
    `leaves` (the open queue loses resolved flags, the history reopened ones)."""
    user = _user(request)
    flag = visible_flag(user=user, flag_id=pk)
    try:
        result = act(flag, user)
    except ServiceError as exc:
        result = exc.messages()
    if isinstance(result, list):
        return _refused(request, result, reverse("dashboard:flags"))
    flag = visible_flag(user=user, flag_id=result.id)
    if _wants_json(request):
        return JsonResponse(
            {
                "ok": True,
                "message": done,
                "status": flag.status,
                "remove": flag.status == leaves,
                "html": _flag_row(request, flag),
            }
        )
    messages.success(request, done)
    return _back(request, reverse("dashboard:flags"))


@require_POST
@staff_required
def flag_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    return _flag_action(
        request,
        pk,
        lambda flag, user: flag_services.flag_acknowledge(flag=flag, actor=user),
        "Flag acknowledged.",
    )


@require_POST
@staff_required
def flag_assign(request: HttpRequest, pk: int) -> HttpResponse:
    def act(flag: Flag, user: User) -> Flag | list[str]:
        form = AssignForm(request.POST, program_id=flag.enrollment.program_id)
        if not form.is_valid():
            return _form_errors(form)
        try:
            return flag_services.flag_assign(
                flag=flag, actor=user, assignee_id=form.cleaned_data["assignee"].id
            )
        except ServiceError as exc:
            add_service_error(form, exc)
            return _form_errors(form)

    return _flag_action(request, pk, act, "Flag assigned.")


@require_POST
@staff_required
def flag_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    def act(flag: Flag, user: User) -> Flag | list[str]:
        form = ResolveForm(request.POST, flag=flag)
        if not form.is_valid():
            return _form_errors(form)
        try:
            return flag_services.flag_resolve(
                flag=flag,
                actor=user,
                outcome_note=form.cleaned_data["outcome_note"],
                resolution=form.cleaned_data["resolution"] or FlagResolution.ACTION_TAKEN,
            )
        except ServiceError as exc:
            add_service_error(form, exc)
            return _form_errors(form)

    return _flag_action(request, pk, act, "Flag resolved.")


@require_POST
@staff_required
def flag_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    def act(flag: Flag, user: User) -> Flag | list[str]:
        form = ReopenForm(request.POST, flag=flag)
        if not form.is_valid():
            return _form_errors(form)
        try:
            return flag_services.flag_reopen(flag=flag, actor=user, note=form.cleaned_data["note"])
        except ServiceError as exc:
            add_service_error(form, exc)
            return _form_errors(form)

    return _flag_action(request, pk, act, "Flag reopened.", leaves=FlagStatus.OPEN)


@require_POST
@staff_required
def attendance_mark(request: HttpRequest, session_id: int) -> HttpResponse:
    user = _user(request)
    session = visible_session(user=user, session_id=session_id)
    calendar_url = reverse("dashboard:calendar")
    form = AttendanceForm(request.POST, session=session, user=user)
    if not form.is_valid() or form.enrollment is None:
        return _refused(request, _form_errors(form), calendar_url)
    enrollment = form.enrollment
    try:
        attendance = attendance_record(
            session=session,
            enrollment=enrollment,
            status=form.cleaned_data["status"],
            minutes_attended=form.cleaned_data["minutes_attended"],
            actor=user,
        )
    except ServiceError as exc:
        add_service_error(form, exc)
        return _refused(request, _form_errors(form), calendar_url)
    done = f"Attendance saved: {present.label(AttendanceStatus, attendance.status)}."
    if not _wants_json(request):
        messages.success(request, done)
        return _back(request, calendar_url)
    html = render_to_string(
        "dashboard/_attendance_item.html",
        {
            **_base_context(request, "calendar"),
            "card": session_card(session, zone=zoneinfo.ZoneInfo(session.program.timezone)),
            "item": SessionPatient(enrollment=enrollment, attendance=attendance),
            "statuses": AttendanceStatus.choices,
            "next_url": _next_url(request, calendar_url),
        },
        request=request,
    )
    return JsonResponse({"ok": True, "message": done, "html": html})
