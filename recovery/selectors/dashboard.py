"""The counselor's caseload in a fixed number of queries, however many patients."""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from statistics import fmean as mean  # floats: mean() goes through Fractions

from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from backend.timezones import local_date
from recovery.models import (
    Attendance,
    AttendanceStatus,
    CheckIn,
    CheckInSchedule,
    Enrollment,
    EnrollmentStatus,
    Flag,
    FlagStatus,
    SessionStatus,
    Severity,
    User,
)
from recovery.selectors.access import enrollments_visible_to
from recovery.selectors.messages import unread_by_patient
from recovery.selectors.presence import app_silent_since, last_heard_at

ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY)


def _held_attendance() -> QuerySet[Attendance]:
    """Attendance of sessions that took place: a session cancelled after the roll was
    taken, or a roll taken ahead of the session, counts no hours."""
    return Attendance.objects.exclude(session__status=SessionStatus.CANCELLED).filter(
        session__starts_at__lte=timezone.now()
    )


@dataclass
class CaseloadRow:
    enrollment: Enrollment
    last_checkin_at: datetime | None = None
    streak_days: int = 0
    adherence_7d: float | None = None
    adherence_30d: float | None = None
    craving_avg_7d: float | None = None
    craving_trend: float | None = None
    craving_daily_30d: list[float | None] = field(default_factory=list)
    last_session_attended_at: datetime | None = None
    hours_this_week: float = 0.0
    required_hours_per_week: float = 0.0
    open_flags: dict[str, int] = field(default_factory=dict)
    last_heard_at: datetime | None = None  # the app's last word: a request, socket, receipt
    app_silent_since: datetime | None = None  # set once the silence is the program's days
    unread_messages: int = 0  # the patient's messages this staff member has not read


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _expected_days(days_of_week: list[int], start: date, end: date) -> int:
    return sum(
        1
        for n in range((end - start).days + 1)
        if (start + timedelta(days=n)).isoweekday() in days_of_week
    )


def _streak(days: set[date], today: date) -> int:
    cursor = today if today in days else today - timedelta(days=1)
    streak = 0
    while cursor in days:
        streak += 1
        cursor -= timedelta(days=1)
    return streak


def caseload(*, user: User, include_discharged: bool = False) -> list[CaseloadRow]:
    now = timezone.now()
    enrollments = enrollments_visible_to(user).select_related(
        "patient", "program", "patient__app_presence"
    )
    if not include_discharged:
        enrollments = enrollments.filter(status=EnrollmentStatus.ACTIVE)
    rows = {
        e.id: CaseloadRow(enrollment=e) for e in enrollments.order_by("patient__last_name", "id")
    }
    if not rows:
        return []
    ids = list(rows)
    since = now - timedelta(days=31)

    last = dict(
        CheckIn.objects.filter(enrollment_id__in=ids)
        .values("enrollment_id")
        .annotate(m=Max("device_time"))
        .values_list("enrollment_id", "m")
    )
    recent: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for enrollment_id, at, craving in CheckIn.objects.filter(
        enrollment_id__in=ids, device_time__gte=since
    ).values_list("enrollment_id", "device_time", "craving"):
        recent[enrollment_id].append((at, craving))
    schedules = dict(
        CheckInSchedule.objects.filter(enrollment_id__in=ids).values_list(
            "enrollment_id", "days_of_week"
        )
    )
    last_attended = dict(
        _held_attendance()
        .filter(enrollment_id__in=ids, status__in=ATTENDED)
        .values("enrollment_id")
        .annotate(m=Max("session__starts_at"))
        .values_list("enrollment_id", "m")
    )
    flags: dict[int, dict[str, int]] = defaultdict(dict)
    for enrollment_id, severity, count in (
        Flag.objects.filter(
            enrollment_id__in=ids, status__in=[FlagStatus.OPEN, FlagStatus.ACKNOWLEDGED]
        )
        .values("enrollment_id", "severity")
        .annotate(n=Count("id"))
        .values_list("enrollment_id", "severity", "n")
    ):
        flags[enrollment_id][Severity(severity).label.lower()] = count

    unread = unread_by_patient(user, ids)

    # Hours this week, in each program's own week (Monday to Sunday, local time).
    week_minutes: dict[int, int] = defaultdict(int)
    earliest_week = now - timedelta(days=8)
    for enrollment_id, starts_at, minutes in (
        _held_attendance()
        .filter(enrollment_id__in=ids, session__starts_at__gte=earliest_week)
        .values_list("enrollment_id", "session__starts_at", "minutes_attended")
    ):
        row = rows[enrollment_id]
        zone = zoneinfo.ZoneInfo(row.enrollment.program.timezone)
        if week_start(local_date(starts_at, zone)) == week_start(local_date(now, zone)):
            week_minutes[enrollment_id] += minutes

    for enrollment_id, row in rows.items():
        zone = zoneinfo.ZoneInfo(row.enrollment.timezone)
        today = local_date(now, zone)
        entries = recent.get(enrollment_id, [])
        days = {local_date(at, zone) for at, _ in entries}
        row.last_checkin_at = last.get(enrollment_id)
        row.streak_days = _streak(days, today)
        week_days = schedules.get(enrollment_id) or [1, 2, 3, 4, 5, 6, 7]
        start = row.enrollment.start_date
        for span, attr in ((7, "adherence_7d"), (30, "adherence_30d")):
            first = max(start, today - timedelta(days=span - 1))
            expected = _expected_days(week_days, first, today)
            done = sum(1 for d in days if first <= d <= today and d.isoweekday() in week_days)
            setattr(row, attr, round(done / expected, 3) if expected else None)
        this_week = [c for at, c in entries if at >= now - timedelta(days=7)]
        last_week = [
            c for at, c in entries if now - timedelta(days=14) <= at < now - timedelta(days=7)
        ]
        row.craving_avg_7d = round(mean(this_week), 2) if this_week else None
        if this_week and last_week:
            row.craving_trend = round(mean(this_week) - mean(last_week), 2)
        by_day: dict[date, list[int]] = defaultdict(list)
        for at, craving in entries:
            by_day[local_date(at, zone)].append(craving)
        row.craving_daily_30d = [
            round(mean(by_day[d]), 2) if (d := today - timedelta(days=29 - n)) in by_day else None
            for n in range(30)
        ]
        row.last_session_attended_at = last_attended.get(enrollment_id)
        row.hours_this_week = round(week_minutes[enrollment_id] / 60, 2)
        row.required_hours_per_week = float(
            row.enrollment.program.required_hours_per_week or Decimal(0)
        )
        row.open_flags = flags.get(enrollment_id, {})
        row.unread_messages = unread.get(enrollment_id, 0)
        row.last_heard_at = last_heard_at(row.enrollment.patient)
        row.app_silent_since = app_silent_since(
            last_heard_at=row.last_heard_at,
            silent_after_days=row.enrollment.program.app_silent_after_days,
            now=now,
        )
    return list(rows.values())


def weekly_hours(*, enrollment: Enrollment, weeks: int = 12) -> list[dict[str, object]]:
    """Attended hours per program week against the requirement, most recent first."""
    zone = zoneinfo.ZoneInfo(enrollment.program.timezone)
    now = timezone.now()
    this_week = week_start(local_date(now, zone))
    first_week = this_week - timedelta(weeks=weeks - 1)
    minutes: dict[date, int] = defaultdict(int)
    for starts_at, m in (
        _held_attendance()
        .filter(
            enrollment=enrollment,
            session__starts_at__gte=datetime.combine(first_week, datetime.min.time(), tzinfo=zone),
        )
        .values_list("session__starts_at", "minutes_attended")
    ):
        minutes[week_start(local_date(starts_at, zone))] += m
    required = float(enrollment.program.required_hours_per_week)
    return [
        {
            "week_start": (week := this_week - timedelta(weeks=n)).isoformat(),
            "hours_attended": round(minutes[week] / 60, 2),
            "required_hours": required,
            "met": minutes[week] / 60 >= required,
        }
        for n in range(weeks)
    ]


def attendance_counts(*, enrollment: Enrollment) -> dict[str, int]:
    counts = dict(
        _held_attendance()
        .filter(enrollment=enrollment)
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in AttendanceStatus.values}
