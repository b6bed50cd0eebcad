"""Whose "today": a patient's dates are in the enrollment's zone, staff's in the program's.

The rule for turning an instant into a date lives in backend.timezones; this only says
which zone a record's dates belong to.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

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
