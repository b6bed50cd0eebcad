"""The IANA time zones this machine knows."""

from __future__ import annotations

import zoneinfo
from functools import cache


@cache
def known_timezones() -> frozenset[str]:
    """Read from disk once: `zoneinfo.available_timezones()` scans the tz database."""
    return frozenset(zoneinfo.available_timezones())
