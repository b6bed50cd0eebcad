"""Time zones, and the one rule for turning an instant into a calendar date.

A date is always the date *somewhere*: a patient's "today" is the date on the wall in the
enrollment's zone, a session's day the date in the program's zone. `instant.date()` on a
UTC datetime is the date in Greenwich, which is tomorrow for an evening in New York, so
every date derived from an instant comes from `local_date` / `local_today` here.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta
from functools import cache

from django.utils import timezone

# The widest offsets in the tz database (Etc/GMT+12 and Pacific/Kiritimati): on any instant
# every zone's date lies within these bounds of the UTC date.
_WESTMOST = timedelta(hours=-12)
_EASTMOST = timedelta(hours=14)


@cache
def known_timezones() -> frozenset[str]:
    """Read from disk once: `zoneinfo.available_timezones()` scans the tz database."""
    return frozenset(zoneinfo.available_timezones())


def as_zone(zone: str | zoneinfo.ZoneInfo) -> zoneinfo.ZoneInfo:
    """An IANA name or a zone; `ZoneInfo` caches instances itself."""
    return zone if isinstance(zone, zoneinfo.ZoneInfo) else zoneinfo.ZoneInfo(zone)


def local_date(instant: datetime, zone: str | zoneinfo.ZoneInfo) -> date:
    """The calendar date on the wall in `zone` at `instant` (an aware datetime)."""
    if instant.tzinfo is None:
        raise ValueError("local_date needs an aware datetime")
    return instant.astimezone(as_zone(zone)).date()


def local_today(zone: str | zoneinfo.ZoneInfo, *, now: datetime | None = None) -> date:
    """Today in `zone`: the enrollment's zone for a patient, the program's for staff."""
    return local_date(now or timezone.now(), zone)


def earliest_local_date(instant: datetime) -> date:
    """The earliest date any zone on Earth has at `instant` (for queries across zones)."""
    return (instant.astimezone(zoneinfo.ZoneInfo("UTC")) + _WESTMOST).date()


def latest_local_date(instant: datetime) -> date:
    """The latest date any zone on Earth has at `instant` (for queries across zones)."""
    return (instant.astimezone(zoneinfo.ZoneInfo("UTC")) + _EASTMOST).date()
