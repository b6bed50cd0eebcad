"""The patient page's attendance, from the day the patient started: a week before the
start date is not a week the requirement was missed, and a session before it is not an
absence. The start date is the patient's local date (`recovery.dates`); the weeks are the
program's (`recovery.selectors.dashboard.weekly_hours`).
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta

from django.db.models import Count

from recovery.models import AttendanceStatus, Enrollment
from recovery.selectors.dashboard import _held_attendance, weekly_hours


def in_care_since(enrollment: Enrollment) -> datetime:
    """The first instant of the start date on the patient's wall."""
    return datetime.combine(
        enrollment.start_date, time.min, tzinfo=zoneinfo.ZoneInfo(enrollment.timezone)
    )


def weeks_in_care(*, enrollment: Enrollment, weeks: int) -> list[dict[str, object]]:
    """`weekly_hours`, most recent first, without the weeks that ended before the start."""
    return [
        week
        for week in weekly_hours(enrollment=enrollment, weeks=weeks)
        if date.fromisoformat(str(week["week_start"])) + timedelta(days=6) >= enrollment.start_date
    ]


def attendance_counts_in_care(*, enrollment: Enrollment) -> dict[str, int]:
    """Sessions held since the start, by attendance status (every status, zeros too)."""
    counts = dict(
        _held_attendance()
        .filter(enrollment=enrollment, session__starts_at__gte=in_care_since(enrollment))
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in AttendanceStatus.values}
