"""The program's reports for its supervisors: check-in adherence and attendance by week,
and flags by kind (time to acknowledge and to resolve, and the share resolved as needing
no action). The IOP service days for billing are in `recovery.selectors.service_days`.

Every report covers a range of local dates in the program's zone, in its weeks (Monday to
Sunday). Patient records are read through `recovery.selectors.access`, so the reader's
reach decides what is counted and every patient read is noted for the audit trail.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from backend.timezones import as_zone, local_date
from recovery.dates import program_today
from recovery.models import (
    AttendanceStatus,
    CheckIn,
    CheckInSchedule,
    Enrollment,
    FlagKind,
    FlagResolution,
    FlagStatus,
    Program,
    User,
)
from recovery.selectors.access import enrollments_visible_to, flags_visible_to, records_visible_to
from recovery.selectors.dashboard import ATTENDED, _held_attendance, week_start
from recovery.selectors.plan import Record

DEFAULT_WEEKS = 4
MAX_RANGE_DAYS = 371  # 53 weeks: a year of weekly figures, and no more in one request


@dataclass(frozen=True)
class ReportRange:
    """Local dates in the program's zone, both ends included."""

    first: date
    last: date

    def weeks(self) -> list[tuple[date, date, date]]:
        """(Monday, first day counted, last day counted) of each week the range touches."""
        out = []
        monday = week_start(self.first)
        while monday <= self.last:
            out.append((monday, max(monday, self.first), min(monday + timedelta(6), self.last)))
            monday += timedelta(weeks=1)
        return out


def default_range(program: Program, now: datetime | None = None) -> ReportRange:
    """This week and the three before it, up to today."""
    today = program_today(program, now)
    return ReportRange(week_start(today) - timedelta(weeks=DEFAULT_WEEKS - 1), today)


def range_problems(first: date | None, last: date | None) -> dict[str, list[str]]:
    if first is None or last is None:
        return {}
    if last < first:
        return {"end": ["Must be on or after the start."]}
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        return {"end": [f"At most {MAX_RANGE_DAYS} days in one report."]}
    return {}


def day_start(day: date, program: Program) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=as_zone(program.timezone))


@dataclass
class Report:
    """A report as the API answers it (`data`), its CSV rows (header first), and the
    patients it was drawn from (for the export's audit entry)."""

    name: str
    data: dict[str, Any]
    rows: list[list[Any]]
    patient_ids: set[int] = field(default_factory=set)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def enrolled_during(user: User, span: ReportRange) -> list[Enrollment]:
    """The patients in the reader's reach who were in the program during the range: what
    each report is drawn from, and whom its reader has read (the audit trail)."""
    program = user.program
    assert program is not None
    rows = (
        enrollments_visible_to(user)
        .filter(start_date__lte=span.last)
        .exclude(discharged_at__lt=day_start(span.first, program))
        .order_by("patient__last_name", "patient__first_name", "id")
    )
    return list(rows)


def _discharge_day(enrollment: Enrollment) -> date | None:
    if enrollment.discharged_at is None:
        return None
    return local_date(enrollment.discharged_at, enrollment.timezone)


# --- check-in adherence and attendance by week ---------------------------------------------


@dataclass
class WeekFigures:
    checkins_done: int = 0
    checkins_expected: int = 0
    sessions_attended: int = 0
    sessions_recorded: int = 0  # attendance taken, excused absences left out
    minutes_attended: int = 0

    def add(self, other: WeekFigures) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self, monday: date) -> dict[str, Any]:
        return {
            "week_start": monday.isoformat(),
            "checkins_done": self.checkins_done,
            "checkins_expected": self.checkins_expected,
            "adherence": _ratio(self.checkins_done, self.checkins_expected),
            "sessions_attended": self.sessions_attended,
            "sessions_recorded": self.sessions_recorded,
            "attendance_rate": _ratio(self.sessions_attended, self.sessions_recorded),
            "hours_attended": round(self.minutes_attended / 60, 2),
        }


ADHERENCE_COLUMNS = [
    "scope",
    "patient_id",
    "last_name",
    "first_name",
    "week_start",
    "checkins_done",
    "checkins_expected",
    "adherence",
    "sessions_attended",
    "sessions_recorded",
    "attendance_rate",
    "hours_attended",
]


def _csv_value(value: Any) -> Any:
    return "" if value is None else value


def adherence_report(*, user: User, span: ReportRange, now: datetime | None = None) -> Report:
    """Per patient and for the program, each week: scheduled check-in days done against
    those due (the rule of `Record.checkin_adherence`: the patient's scheduled weekdays from
    their start date, up to today or their discharge), and sessions attended against
    attendance taken, with the hours attended."""
    now = now or timezone.now()
    program = user.program
    assert program is not None
    enrollments = enrolled_during(user, span)
    ids = [e.id for e in enrollments]
    zone = as_zone(program.timezone)
    since = day_start(span.first, program) - timedelta(days=1)  # any patient's zone
    until = day_start(span.last, program) + timedelta(days=2)
    checkin_days: dict[int, set[date]] = defaultdict(set)
    zone_of = {e.id: e.timezone for e in enrollments}
    for enrollment_id, at in records_visible_to(
        user, CheckIn.objects.filter(enrollment_id__in=ids, device_time__range=(since, until))
    ).values_list("enrollment_id", "device_time"):
        checkin_days[enrollment_id].add(local_date(at, zone_of[enrollment_id]))
    schedules = dict(
        CheckInSchedule.objects.filter(enrollment_id__in=ids).values_list(
            "enrollment_id", "days_of_week"
        )
    )
    figures: dict[int, dict[date, WeekFigures]] = defaultdict(lambda: defaultdict(WeekFigures))
    for enrollment_id, starts_at, state, minutes in records_visible_to(
        user,
        _held_attendance().filter(
            enrollment_id__in=ids,
            session__starts_at__gte=day_start(span.first, program),
            session__starts_at__lt=day_start(span.last + timedelta(days=1), program),
        ),
    ).values_list("enrollment_id", "session__starts_at", "status", "minutes_attended"):
        if state == AttendanceStatus.EXCUSED:
            continue
        week = figures[enrollment_id][week_start(local_date(starts_at, zone))]
        week.sessions_recorded += 1
        if state in ATTENDED:
            week.sessions_attended += 1
            week.minutes_attended += minutes

    today = program_today(program, now)
    weeks = span.weeks()
    totals: dict[date, WeekFigures] = defaultdict(WeekFigures)
    patients = []
    rows: list[list[Any]] = [ADHERENCE_COLUMNS]
    for enrollment in enrollments:
        record = Record(
            enrollment=enrollment,
            today=today,
            since=span.first,
            checkin_days=checkin_days[enrollment.id],
            schedule_days=list(schedules.get(enrollment.id) or [1, 2, 3, 4, 5, 6, 7]),
        )
        discharged = _discharge_day(enrollment)
        patient_weeks = []
        for monday, first, last in weeks:
            week = figures[enrollment.id][monday]
            last = min(last, today, discharged or last)
            week.checkins_done, week.checkins_expected = record.checkin_adherence(first, last)
            totals[monday].add(week)
            shown = week.as_dict(monday)
            patient_weeks.append(shown)
            rows.append(
                [
                    "patient",
                    enrollment.id,
                    enrollment.patient.last_name,
                    enrollment.patient.first_name,
                    *(_csv_value(shown[c]) for c in ADHERENCE_COLUMNS[4:]),
                ]
            )
        patients.append(
            {
                "patient": enrollment.id,
                "first_name": enrollment.patient.first_name,
                "last_name": enrollment.patient.last_name,
                "weeks": patient_weeks,
            }
        )
    program_weeks = [totals[monday].as_dict(monday) for monday, _, _ in weeks]
    for shown in program_weeks:
        rows.append(["program", "", "", "", *(_csv_value(shown[c]) for c in ADHERENCE_COLUMNS[4:])])
    data = {
        **_header(program, span),
        "weeks": program_weeks,
        "patients": patients,
    }
    return Report(name="adherence", data=data, rows=rows, patient_ids=set(ids))


def _header(program: Program, span: ReportRange) -> dict[str, Any]:
    return {
        "program": program.id,
        "timezone": program.timezone,
        "start": span.first.isoformat(),
        "end": span.last.isoformat(),
    }


# --- flags by kind ---------------------------------------------------------------------------


def _minutes(deltas: list[timedelta], summary: Callable[[Iterable[float]], float]) -> float | None:
    if not deltas:
        return None
    return round(summary(d.total_seconds() / 60 for d in deltas), 1)


FLAG_COLUMNS = [
    "kind",
    "label",
    "raised",
    "acknowledged",
    "minutes_to_acknowledge_median",
    "minutes_to_acknowledge_mean",
    "resolved",
    "minutes_to_resolve_median",
    "minutes_to_resolve_mean",
    "resolved_no_action_needed",
    "share_no_action_needed",
]


def _flag_figures(kind: str, label: str, flags: list[tuple[Any, ...]]) -> dict[str, Any]:
    to_ack = [ack - created for created, ack, _, _, _ in flags if ack is not None]
    resolved = [
        (done - created, resolution)
        for created, _, done, state, resolution in flags
        if state == FlagStatus.RESOLVED and done is not None
    ]
    to_resolve = [delta for delta, _ in resolved]
    no_action = sum(
        1 for _, resolution in resolved if resolution == FlagResolution.NO_ACTION_NEEDED
    )
    return {
        "kind": kind,
        "label": label,
        "raised": len(flags),
        "acknowledged": len(to_ack),
        "minutes_to_acknowledge_median": _minutes(to_ack, statistics.median),
        "minutes_to_acknowledge_mean": _minutes(to_ack, statistics.fmean),
        "resolved": len(resolved),
        "minutes_to_resolve_median": _minutes(to_resolve, statistics.median),
        "minutes_to_resolve_mean": _minutes(to_resolve, statistics.fmean),
        "resolved_no_action_needed": no_action,
        "share_no_action_needed": _ratio(no_action, len(resolved)),
    }


def _flags_raised(user: User, span: ReportRange) -> QuerySet[Any]:
    program = user.program
    assert program is not None
    return flags_visible_to(user).filter(
        created_at__gte=day_start(span.first, program),
        created_at__lt=day_start(span.last + timedelta(days=1), program),
    )


def flags_report(*, user: User, span: ReportRange) -> Report:
    """The flags raised in the range, by kind and in all: how many, how long until the
    first acknowledgement and until resolved (median and mean minutes, of those that
    were), and the share of the resolved ones resolved as needing no action (alert
    fatigue: a rule that fires for nothing)."""
    program = user.program
    assert program is not None
    by_kind: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    patient_ids = {e.id for e in enrolled_during(user, span)}
    for kind, *times in (
        _flags_raised(user, span)
        .filter(enrollment_id__in=patient_ids)
        .values_list("kind", "created_at", "acknowledged_at", "resolved_at", "status", "resolution")
    ):
        by_kind[kind].append(tuple(times))
    labels = dict(FlagKind.choices)
    kinds = [
        _flag_figures(kind, labels.get(kind, kind), flags)
        for kind, flags in sorted(by_kind.items(), key=lambda item: (-len(item[1]), item[0]))
    ]
    every = [flag for flags in by_kind.values() for flag in flags]
    total = _flag_figures("all", "All flags", every)
    rows: list[list[Any]] = [FLAG_COLUMNS]
    rows += [[_csv_value(k[c]) for c in FLAG_COLUMNS] for k in [*kinds, total]]
    data = {**_header(program, span), "kinds": kinds, "total": total}
    return Report(name="flags", data=data, rows=rows, patient_ids=patient_ids)
