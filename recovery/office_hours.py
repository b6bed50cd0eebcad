"""When a program's care team reads messages: its office days and hours on the clinic's
wall (`Program.timezone`), turned into instants through the zone, so a daylight-saving
change moves the UTC instant of "9:00 on Monday", never the wall time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from backend.timezones import as_zone, local_date

if TYPE_CHECKING:
    from recovery.models import Program


def _instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    # A wall time skipped by a spring-forward change lands just after it (fold=0).
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def next_opening(program: Program, at: datetime) -> datetime | None:
    """`at` itself when the office is open then, else the instant it next opens; None
    for a program without office days."""
    zone = as_zone(program.timezone)
    days = set(program.office_days)
    if not days:
        return None
    today = local_date(at, zone)
    for offset in range(8):
        day = today + timedelta(days=offset)
        if day.isoweekday() not in days:
            continue
        opens = _instant(day, program.office_opens_at, zone)
        closes = _instant(day, program.office_closes_at, zone)
        if at < opens:
            return opens
        if at < closes:
            return at
    return None


def is_open(program: Program, at: datetime) -> bool:
    return next_opening(program, at) == at
