"""Whose "today": a patient's dates are in the enrollment's zone, staff's in the program's.

The rule for turning an instant into a date lives in backend.timezones; this only says
which zone a record's dates belong to.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from backend.timezones import local_date, local_today

if TYPE_CHECKING:
    from recovery.models import Enrollment, Program


def enrollment_today(enrollment: Enrollment, now: datetime | None = None) -> date:
    """The patient's today: the date on their wall (`enrollment.timezone`)."""
    return local_today(enrollment.timezone, now=now)


def enrollment_date(enrollment: Enrollment, instant: datetime) -> date:
    """The patient's date of an instant, e.g. the day a check-in belongs to."""
    return local_date(instant, enrollment.timezone)


def program_today(program: Program, now: datetime | None = None) -> date:
    """The clinic's today (`program.timezone`): sessions, series, staff screens."""
    return local_today(program.timezone, now=now)


def enrollment_start_today(program: Program, timezone_name: str | None = None) -> date:
    """The first day of a patient enrolled now without a start date: today on their wall
    (their zone when given, else the program's). At 23:30 in New York it is already
    tomorrow in UTC."""
    return local_today(timezone_name or program.timezone)


# When a message nobody asked for at a set time (a milestone, a questionnaire coming due)
# may reach a patient's phone: their waking day, on their wall clock.
DAY_STARTS, DAY_ENDS = time(8, 0), time(21, 0)


def patient_daytime(enrollment: Enrollment, now: datetime) -> datetime:
    """`now` if it is day on the patient's wall, else the next 08:00 there (an hourly job
    runs at every hour of every zone's night)."""
    zone = ZoneInfo(enrollment.timezone)
    local = now.astimezone(zone)
    if DAY_STARTS <= local.time() < DAY_ENDS:
        return now
    day = local.date() if local.time() < DAY_STARTS else local.date() + timedelta(days=1)
    # Wall time to instant through the zone (fold 0: 08:00 exists on every DST day).
    return datetime.combine(day, DAY_STARTS, tzinfo=zone).astimezone(UTC)
