"""The program's reports as a dashboard page and their CSV downloads, for its supervisors
(any other staff member gets 404, as for anything out of reach on the dashboard). The
same reports as the API's (`recovery.selectors.program_reports`), read and audited the
same way: the page's reads are noted per patient, a download is recorded as an export."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from backend.errors import ServiceError
from recovery.models import User
from recovery.selectors.program_reports import (
    REPORTS,
    may_read_program_reports,
    program_report,
    report_csv,
    report_range,
)
from recovery.selectors.reports import ReportRange, range_problems
from recovery.services.audit import RequestMeta
from recovery.services.reports import report_export_audit
from recovery.web.enrollment import DATE, BoundedDateField
from recovery.web.forms import add_problems
from recovery.web.views import _base_context, _user, staff_required


class ReportRangeForm(forms.Form):
    start = BoundedDateField(label="From", required=False, widget=DATE)
    end = BoundedDateField(label="To", required=False, widget=DATE)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        add_problems(self, range_problems(cleaned.get("start"), cleaned.get("end")))
        return cleaned


def _supervisor(request: HttpRequest) -> User:
    user = _user(request)
    if not may_read_program_reports(user):
        raise Http404
    return user


def _span(request: HttpRequest, user: User) -> tuple[ReportRangeForm, ReportRange | None]:
    form = ReportRangeForm(request.GET)
    if not form.is_valid():
        return form, None
    span = report_range(user, form.cleaned_data.get("start"), form.cleaned_data.get("end"))
    problems = range_problems(span.first, span.last)
    if problems:  # one end given, the other the default's
        add_problems(form, problems)
        return form, None
    return form, span


def _percent(share: float | None, empty: str) -> str:
    """A share as a percentage; `empty` says why there is none (nothing was due)."""
    return empty if share is None else f"{share:.0%}"


def _minutes(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"


def _adherence_view(data: dict[str, Any]) -> dict[str, Any]:
    def cell(week: dict[str, Any]) -> dict[str, Any]:
        return week | {
            "adherence_shown": _percent(week["adherence"], "none due"),
            "attendance_shown": _percent(week["attendance_rate"], "none taken"),
        }

    return {
        "weeks": [cell(w) for w in data["weeks"]],
        "patients": [p | {"weeks": [cell(w) for w in p["weeks"]]} for p in data["patients"]],
    }


def _flags_view(data: dict[str, Any]) -> list[dict[str, Any]]:
    def row(kind: dict[str, Any]) -> dict[str, Any]:
        return kind | {
            "ack_median": _minutes(kind["minutes_to_acknowledge_median"]),
            "ack_mean": _minutes(kind["minutes_to_acknowledge_mean"]),
            "resolve_median": _minutes(kind["minutes_to_resolve_median"]),
            "resolve_mean": _minutes(kind["minutes_to_resolve_mean"]),
            "no_action_shown": _percent(kind["share_no_action_needed"], "none resolved"),
        }

    return [row(k) for k in data["kinds"]] + [row(data["total"])]


@require_safe
@staff_required
def reports_page(request: HttpRequest) -> HttpResponse:
    user = _supervisor(request)
    form, span = _span(request, user)
    context: dict[str, Any] = {**_base_context(request, "reports"), "form": form}
    if span is None:
        return render(request, "dashboard/reports.html", context, status=400)
    try:
        reports = {name: program_report(user=user, name=name, span=span) for name in REPORTS}
    except ServiceError as exc:  # pragma: no cover - the form checked the range
        add_problems(form, exc.fields)
        return render(request, "dashboard/reports.html", context, status=400)
    context |= {
        "form": ReportRangeForm(initial={"start": span.first, "end": span.last}),
        "span": span,
        "query": f"start={span.first.isoformat()}&end={span.last.isoformat()}",
        "adherence": _adherence_view(reports["adherence"].data),
        "flags": _flags_view(reports["flags"].data),
        "service": reports["service-days"].data,
    }
    return render(request, "dashboard/reports.html", context)


@require_safe
@staff_required
def report_download(request: HttpRequest, name: str) -> HttpResponse:
    user = _supervisor(request)
    if name not in REPORTS:
        raise Http404
    _, span = _span(request, user)
    if span is None:
        return HttpResponse("The dates are not a valid range.", status=400)
    report = program_report(user=user, name=name, span=span)
    report_export_audit(actor=user, report=report, meta=RequestMeta.of(request))
    response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
    filename = f"{name}-{span.first.isoformat()}-to-{span.last.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
