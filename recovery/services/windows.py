"""Check-in windows: local wall time in the patient's IANA zone, turned into UTC instants
only when needed, so a window stays at 18:00 local across daylight-saving changes."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from backend.timezones import local_date
from recovery.models import CheckInSchedule

SEARCH_DAYS = 9


@dataclass(frozen=True)
class Window:
    day: date  # the local date the window belongs to
    opens: datetime  # UTC
    due: datetime  # UTC
    deadline: datetime  # UTC: due plus grace


def _instant(day: date, wall: time, zone: zoneinfo.ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def window_on(schedule: CheckInSchedule, day: date, zone_name: str) -> Window | None:
    if day.isoweekday() not in schedule.days_of_week:
        return None
    zone = zoneinfo.ZoneInfo(zone_name)
    opens = _instant(day, schedule.opens_at, zone)
    due_day = day if schedule.due_by > schedule.opens_at else day + timedelta(days=1)
    due = _instant(due_day, schedule.due_by, zone)
    return Window(
        day=day, opens=opens, due=due, deadline=due + timedelta(minutes=schedule.grace_minutes)
    )


def first_window_closing_after(
    schedule: CheckInSchedule, instant: datetime, zone_name: str
) -> Window | None:
    """The earliest window whose deadline is after `instant`."""
    start = local_date(instant, zone_name) - timedelta(days=1)
    for offset in range(SEARCH_DAYS):
        window = window_on(schedule, start + timedelta(days=offset), zone_name)
        if window is not None and window.deadline > instant:
            return window
    return None


def first_window_after_day(schedule: CheckInSchedule, day: date, zone_name: str) -> Window | None:
    """The first window on a local date after `day`."""
    for offset in range(1, SEARCH_DAYS):
        window = window_on(schedule, day + timedelta(days=offset), zone_name)
        if window is not None:
            return window
    return None
