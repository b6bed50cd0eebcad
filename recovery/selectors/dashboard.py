"""The counselor's caseload in a fixed number of queries, however many patients."""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import connections
from django.db.models import Case, Count, DateField, Max, Min, Q, QuerySet, Sum, When
from django.db.models.functions import TruncDate
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
from recovery.selectors.questionnaires import latest_scores, missed_counts

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
    top_severity: int = 0  # of the open flags (`Severity`), 0 without any
    oldest_open_flag_at: datetime | None = None
    missed_checkins: int = 0  # check-in windows missed in a row, up to now
    last_heard_at: datetime | None = None  # the app's last word: a request, socket, receipt
    app_silent_since: datetime | None = None  # set once the silence is the program's days
    # Each instrument's latest score, band and change since baseline; missed questionnaires.
    scores: list[dict[str, object]] = field(default_factory=list)
    questionnaires_missed: int = 0
    unread_messages: int = 0  # the patient's messages this staff member has not read


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _expected_days(days_of_week: Collection[int], start: date, end: date) -> int:
    return sum(
        1
        for n in range((end - start).days + 1)
        if (start + timedelta(days=n)).isoweekday() in days_of_week
    )


def _local_day(zones: set[str]) -> TruncDate | Case:
    """A check-in's date on its patient's wall (`local_date` in the enrollment's zone), for
    the database to group by: one arm per zone of the caseload, however many patients."""
    by_zone = {zone: TruncDate("device_time", tzinfo=zoneinfo.ZoneInfo(zone)) for zone in zones}
    if len(by_zone) == 1:
        return next(iter(by_zone.values()))
    return Case(
        *(When(enrollment__timezone=zone, then=day) for zone, day in sorted(by_zone.items())),
        output_field=DateField(),
    )


def _driver_rows(rows: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """A values_list() query's rows as the database driver gives them, without Django's
    per-value converters: on the ~13,000 rows of a caseload of 500 they cost more than
    the query itself. For columns the driver already gives as Python values (ints, dates
    on PostgreSQL)."""
    sql, params = rows.query.sql_with_params()
    with connections[rows.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _streak(days: Collection[date], today: date) -> int:
    cursor = today if today in days else today - timedelta(days=1)
    streak = 0
    while cursor in days:
        streak += 1
        cursor -= timedelta(days=1)
    return streak


def caseload(
    *, user: User, include_discharged: bool = False, counselor_id: int | None = None
) -> list[CaseloadRow]:
    """The patients in the user's reach; `counselor_id`: only those on that counselor's
    care team (how a supervisor looks at one counselor's caseload)."""
    now = timezone.now()
    enrollments = enrollments_visible_to(user).select_related(
        "patient", "program", "patient__app_presence"
    )
    if counselor_id is not None:
        enrollments = enrollments.filter(members__counselor_id=counselor_id)
    if not include_discharged:
        enrollments = enrollments.filter(status=EnrollmentStatus.ACTIVE)
    rows = {
        e.id: CaseloadRow(enrollment=e) for e in enrollments.order_by("patient__last_name", "id")
    }
    if not rows:
        return []
    # The same patients, as a subquery: 500 ids as parameters of six queries cost more
    # (to bind, to send, to plan) than the database running the join again.
    ids = enrollments.values("id")
    since = now - timedelta(days=31)

    week_ago, two_weeks_ago = now - timedelta(days=7), now - timedelta(days=14)
    this_week_q = Q(device_time__gte=week_ago)
    last_week_q = Q(device_time__gte=two_weeks_ago, device_time__lt=week_ago)
    # Sums and counts, not the check-ins themselves: a mean is sum / count either way.
    totals = {
        enrollment_id: rest
        for enrollment_id, *rest in CheckIn.objects.filter(enrollment_id__in=ids)
        .values("enrollment_id")
        .annotate(
            last=Max("device_time"),
            n7=Count("id", filter=this_week_q),
            s7=Sum("craving", filter=this_week_q),
            n14=Count("id", filter=last_week_q),
            s14=Sum("craving", filter=last_week_q),
        )
        .values_list("enrollment_id", "last", "n7", "s7", "n14", "s14")
    }
    # Per patient and local day of the last 31 days: how many check-ins, craving summed.
    daily: dict[int, dict[date, tuple[int, int]]] = defaultdict(dict)
    zones = {row.enrollment.timezone for row in rows.values()}
    for enrollment_id, day, count, craving_sum in _driver_rows(
        CheckIn.objects.filter(enrollment_id__in=ids, device_time__gte=since)
        .annotate(day=_local_day(zones))
        .values("enrollment_id", "day")
        .annotate(n=Count("id"), s=Sum("craving"))
        .values_list("enrollment_id", "day", "n", "s")
    ):
        # SQLite has no date type: Django's own function hands the date over as text.
        day = day if isinstance(day, date) else date.fromisoformat(day)
        daily[enrollment_id][day] = (count, craving_sum)
    schedules: dict[int, list[int]] = {}
    missed_in_a_row: dict[int, int] = {}
    for enrollment_id, days_of_week, missed_count in CheckInSchedule.objects.filter(
        enrollment_id__in=ids
    ).values_list("enrollment_id", "days_of_week", "consecutive_missed"):
        schedules[enrollment_id] = days_of_week
        missed_in_a_row[enrollment_id] = missed_count
    last_attended = dict(
        _held_attendance()
        .filter(enrollment_id__in=ids, status__in=ATTENDED)
        .values("enrollment_id")
        .annotate(m=Max("session__starts_at"))
        .values_list("enrollment_id", "m")
    )
    flags: dict[int, dict[str, int]] = defaultdict(dict)
    for enrollment_id, severity, count, oldest in (
        Flag.objects.filter(
            enrollment_id__in=ids, status__in=[FlagStatus.OPEN, FlagStatus.ACKNOWLEDGED]
        )
        .values("enrollment_id", "severity")
        .annotate(n=Count("id"), oldest=Min("created_at"))
        .values_list("enrollment_id", "severity", "n", "oldest")
    ):
        flags[enrollment_id][Severity(severity).label.lower()] = count
        if (flagged := rows.get(enrollment_id)) is None:
            continue  # enrolled since the caseload was read
        flagged.top_severity = max(flagged.top_severity, severity)
        if flagged.oldest_open_flag_at is None or oldest < flagged.oldest_open_flag_at:
            flagged.oldest_open_flag_at = oldest

    unread = unread_by_patient(user, ids)

    # Hours this week, in each program's own week (Monday to Sunday, local time).
    week_minutes: dict[int, int] = defaultdict(int)
    earliest_week = now - timedelta(days=8)
    for enrollment_id, starts_at, minutes in (
        _held_attendance()
        .filter(enrollment_id__in=ids, session__starts_at__gte=earliest_week)
        .values_list("enrollment_id", "session__starts_at", "minutes_attended")
    ):
        if (row := rows.get(enrollment_id)) is None:
            continue  # enrolled since the caseload was read
        zone = zoneinfo.ZoneInfo(row.enrollment.program.timezone)
        if week_start(local_date(starts_at, zone)) == week_start(local_date(now, zone)):
            week_minutes[enrollment_id] += minutes

    expected_days = cache(_expected_days)
    last_30_days = cache(lambda today: [today - timedelta(days=29 - n) for n in range(30)])
    for enrollment_id, row in rows.items():
        today = local_date(now, row.enrollment.timezone)
        by_day = daily.get(enrollment_id, {})
        last_checkin_at, n7, s7, n14, s14 = totals.get(enrollment_id, (None, 0, 0, 0, 0))
        row.last_checkin_at = last_checkin_at
        row.streak_days = _streak(by_day.keys(), today)
        week_days = tuple(schedules.get(enrollment_id) or (1, 2, 3, 4, 5, 6, 7))
        start = row.enrollment.start_date
        for span, attr in ((7, "adherence_7d"), (30, "adherence_30d")):
            first = max(start, today - timedelta(days=span - 1))
            expected = expected_days(week_days, first, today)
            done = sum(1 for d in by_day if first <= d <= today and d.isoweekday() in week_days)
            setattr(row, attr, round(done / expected, 3) if expected else None)
        row.craving_avg_7d = round(s7 / n7, 2) if n7 else None
        if n7 and n14:
            row.craving_trend = round(s7 / n7 - s14 / n14, 2)
        row.craving_daily_30d = [
            round(day[1] / day[0], 2) if (day := by_day.get(d)) else None
            for d in last_30_days(today)
        ]
        row.last_session_attended_at = last_attended.get(enrollment_id)
        row.hours_this_week = round(week_minutes[enrollment_id] / 60, 2)
        row.required_hours_per_week = float(
            row.enrollment.program.required_hours_per_week or Decimal(0)
        )
        row.open_flags = flags.get(enrollment_id, {})
        row.unread_messages = unread.get(enrollment_id, 0)
        row.missed_checkins = missed_in_a_row.get(enrollment_id, 0)
        row.last_heard_at = last_heard_at(row.enrollment.patient)
        row.app_silent_since = app_silent_since(
            last_heard_at=row.last_heard_at,
            silent_after_days=row.enrollment.program.app_silent_after_days,
            now=now,
        )
    scores, missed = latest_scores(ids), missed_counts(ids)
    for enrollment_id, row in rows.items():
        row.scores = scores.get(enrollment_id, [])
        row.questionnaires_missed = missed.get(enrollment_id, 0)
    return list(rows.values())


def needs_attention(row: CaseloadRow) -> bool:
    """An open (or acknowledged, not yet resolved) flag, or a check-in missed."""
    return row.top_severity > 0 or row.missed_checkins > 0


def by_attention(rows: list[CaseloadRow]) -> list[CaseloadRow]:
    """Who needs attention first: the gravest open flag, then the flag waiting longest,
    then the most check-ins missed in a row; then by name."""
    never = datetime.max.replace(tzinfo=UTC)

    def key(row: CaseloadRow) -> tuple[int, datetime, int, str, str, int]:
        patient = row.enrollment.patient
        return (
            -row.top_severity,
            row.oldest_open_flag_at or never,
            -row.missed_checkins,
            patient.last_name.lower(),
            patient.first_name.lower(),
            row.enrollment.id,
        )

    return sorted(rows, key=key)


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
