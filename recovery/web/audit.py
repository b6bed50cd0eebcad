"""The program's audit trail as a dashboard page and its CSV, for supervisors (any other
staff member gets 404, as for anything out of reach on the dashboard). The rows are the
API's (`/api/v1/audit/`): the same selector and the same filters (`AuditQuery`); the
dates are whole days in the program's time zone. Reading the trail is not itself logged,
as in the API (`recovery.audit_middleware`): the trail is not a patient's record.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from backend.csv_safe import spreadsheet_cell
from backend.timezones import as_zone
from recovery.models import AuditEntry, Program, User
from recovery.selectors.access import may_read_audit_trail
from recovery.selectors.audit import AuditQuery, audit_trail_for_supervisor, audit_trail_people
from recovery.services.audit import RequestMeta, audit_record_program
from recovery.web.enrollment import DATE, BoundedDateField
from recovery.web.views import _base_context, _user, staff_required

PAGE_SIZE = 50
CSV_COLUMNS = (
    "at",
    "actor",
    "actor_name",
    "actor_role",
    "patient",
    "patient_name",
    "action",
    "resource",
    "method",
    "path",
    "status_code",
    "ip_address",
)


class AuditFilterForm(forms.Form):
    patient = forms.TypedChoiceField(label="Patient", required=False, coerce=int, empty_value=None)
    actor = forms.TypedChoiceField(label="Who", required=False, coerce=int, empty_value=None)
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any"), *AuditEntry.Action.choices]
    )
    since = BoundedDateField(label="From", required=False, widget=DATE)
    until = BoundedDateField(label="To (inclusive)", required=False, widget=DATE)

    def __init__(
        self,
        *args: Any,
        patients: list[tuple[int, str]],
        staff: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        patient, actor = self.fields["patient"], self.fields["actor"]
        assert isinstance(patient, forms.TypedChoiceField)
        assert isinstance(actor, forms.TypedChoiceField)
        patient.choices = [("", "Anyone"), *patients]
        actor.choices = [("", "Anyone"), *staff]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", "Must be on or after the first day.")
        return cleaned

    def query(self, program: Program) -> AuditQuery:
        """The filters as instants: `since` from the start of its day, `until` to the end
        of its day, in the program's zone (where a supervisor thinks of a day)."""
        data = self.cleaned_data
        return AuditQuery(
            patient_id=data.get("patient"),
            actor_id=data.get("actor"),
            action=data.get("action") or "",
            since=_day_start(data["since"], program) if data.get("since") else None,
            until=(
                _day_start(data["until"] + timedelta(days=1), program)
                if data.get("until")
                else None
            ),
        )


def _day_start(day: date, program: Program) -> datetime:
    return datetime.combine(day, time.min, tzinfo=as_zone(program.timezone))


def _supervisor(request: HttpRequest) -> tuple[User, Program]:
    user = _user(request)
    if not may_read_audit_trail(user) or user.program is None:
        raise Http404
    return user, user.program


def _filtered(request: HttpRequest) -> tuple[AuditFilterForm, Any, dict[int, str]]:
    """The form of the filters, the rows they keep (none while they do not parse) and
    the patients' names by id."""
    user, program = _supervisor(request)
    patients, staff = audit_trail_people(user=user)
    form = AuditFilterForm(request.GET, patients=patients, staff=staff)
    if form.is_valid():
        entries = audit_trail_for_supervisor(user=user, query=form.query(program))
    else:
        entries = AuditEntry.objects.none()
    return form, entries, dict(patients)


def _actor_name(entry: AuditEntry) -> str:
    if entry.actor is None:
        return "system"
    return entry.actor.get_full_name() or entry.actor.get_username()


@require_safe
@staff_required
def audit_trail_page(request: HttpRequest) -> HttpResponse:
    form, entries, patient_names = _filtered(request)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "entry": entry,
            "actor_name": _actor_name(entry),
            "patient_name": patient_names.get(entry.enrollment_id or 0, ""),
        }
        for entry in page
    ]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        **_base_context(request, "audit"),
        "form": form,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
    }
    return render(request, "dashboard/audit.html", context, status=200 if form.is_valid() else 400)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(entries: Any, patient_names: dict[int, str]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for entry in entries.iterator(chunk_size=500):
        yield writer.writerow(
            spreadsheet_cell(value)
            for value in [
                entry.at.isoformat(),
                entry.actor_id or "",
                _actor_name(entry),
                entry.actor_role,
                entry.enrollment_id or "",
                patient_names.get(entry.enrollment_id or 0, ""),
                entry.action,
                entry.resource,
                entry.method,
                entry.path,
                entry.status_code or "",
                entry.ip_address or "",
            ]
        )


@require_safe
@staff_required
def audit_trail_download(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Every row the filters keep (not only one page), times in UTC as in the API."""
    form, entries, patient_names = _filtered(request)
    if not form.is_valid():
        return HttpResponse(
            "; ".join(
                f"{name}: {' '.join(map(str, errors))}" for name, errors in form.errors.items()
            ),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    # Every patient's name and who read their record leave the system: an export, as the
    # reports' CSV is (the page itself is not logged, reading the trail is its purpose).
    user, program = _supervisor(request)
    audit_record_program(
        actor=user,
        action=AuditEntry.Action.EXPORT,
        resource="audit-trail-csv",
        program_id=program.id,
        meta=RequestMeta.of(request),
    )
    response = StreamingHttpResponse(
        _csv_lines(entries, patient_names), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
    return response
