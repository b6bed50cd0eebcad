"""IOP service days per patient, for a billing office.

A service day is a local date (the program's zone) on which the patient attended at least
the program's `service_day_min_hours` of held sessions; a week (Monday to Sunday) qualifies
when it has at least `service_week_min_days` service days. An IOP per diem such as HCPCS
H0015 needs at least 3 hours a day on at least 3 days a week, the defaults.

A session counts on the local date it starts (one taking a patient past midnight is one
visit, billed on its day), with the minutes the roll recorded for the patient (the
session's length unless they came late or left early). A week that the range cuts still
qualifies on all its days: the dates listed are those in the range, the week's count is the
whole week's.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from backend.timezones import as_zone, local_date
from recovery.models import User
from recovery.selectors.access import records_visible_to
from recovery.selectors.dashboard import ATTENDED, _held_attendance, week_start
from recovery.selectors.reports import Report, ReportRange, day_start, enrolled_during

SERVICE_DAY_COLUMNS = [
    "patient_id",
    "last_name",
    "first_name",
    "date",
    "week_start",
    "sessions",
    "hours",
    "service_day",
    "week_service_days",
    "week_qualifies",
]


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def service_days_report(*, user: User, span: ReportRange) -> Report:
    """Each patient's dates with attended time in the range (sessions, hours, whether it
    is a service day) and each week's service days and whether it qualifies."""
    program = user.program
    assert program is not None
    zone = as_zone(program.timezone)
    min_minutes = Decimal(program.service_day_min_hours) * 60
    min_days = program.service_week_min_days
    first_monday = week_start(span.first)
    after_last_week = week_start(span.last) + timedelta(weeks=1)
    enrollments = enrolled_during(user, span)
    # Per patient and local date: (sessions, minutes).
    attended: dict[int, dict[date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for enrollment_id, starts_at, minutes in records_visible_to(
        user,
        _held_attendance().filter(
            enrollment__in=[e.id for e in enrollments],
            status__in=ATTENDED,
            session__starts_at__gte=day_start(first_monday, program),
            session__starts_at__lt=day_start(after_last_week, program),
        ),
    ).values_list("enrollment_id", "session__starts_at", "minutes_attended"):
        day = attended[enrollment_id][local_date(starts_at, zone)]
        day[0] += 1
        day[1] += minutes
    billed = [e for e in enrollments if any(span.first <= d <= span.last for d in attended[e.id])]
    patients = []
    rows: list[list[Any]] = [SERVICE_DAY_COLUMNS]
    for enrollment in billed:
        by_day = attended[enrollment.id]
        service = {d for d, (_, minutes) in by_day.items() if minutes >= min_minutes}
        per_week: dict[date, int] = defaultdict(int)
        for d in service:
            per_week[week_start(d)] += 1
        days = []
        for d in sorted(d for d in by_day if span.first <= d <= span.last):
            sessions, minutes = by_day[d]
            monday = week_start(d)
            shown: dict[str, Any] = {
                "date": d.isoformat(),
                "week_start": monday.isoformat(),
                "sessions": sessions,
                "hours": round(minutes / 60, 2),
                "service_day": d in service,
                "week_service_days": per_week[monday],
                "week_qualifies": per_week[monday] >= min_days,
            }
            days.append(shown)
            patient = enrollment.patient
            rows.append(
                [
                    enrollment.id,
                    patient.last_name,
                    patient.first_name,
                    *(shown[c] for c in SERVICE_DAY_COLUMNS[3:7]),
                    _yes(shown["service_day"]),
                    shown["week_service_days"],
                    _yes(shown["week_qualifies"]),
                ]
            )
        weeks = [
            {
                "week_start": monday.isoformat(),
                "service_days": per_week[monday],
                "qualifies": per_week[monday] >= min_days,
            }
            for monday in sorted({week_start(d) for d in by_day if span.first <= d <= span.last})
        ]
        patients.append(
            {
                "patient": enrollment.id,
                "first_name": enrollment.patient.first_name,
                "last_name": enrollment.patient.last_name,
                "service_days": sum(1 for d in service if span.first <= d <= span.last),
                "qualifying_weeks": sum(1 for w in weeks if w["qualifies"]),
                "weeks": weeks,
                "days": days,
            }
        )
    data = {
        "program": program.id,
        "timezone": program.timezone,
        "start": span.first.isoformat(),
        "end": span.last.isoformat(),
        "service_day_min_hours": str(program.service_day_min_hours),
        "service_week_min_days": min_days,
        "patients": patients,
    }
    return Report(
        name="service-days", data=data, rows=rows, patient_ids={e.id for e in enrollments}
    )
