"""The one rule for a date from an instant: the date on the wall in the record's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from backend.timezones import (
    earliest_local_date,
    known_timezones,
    latest_local_date,
    local_date,
    local_today,
)

NEW_YORK_LATE_EVENING = datetime(2026, 11, 1, 3, 30, tzinfo=UTC)


def test_the_date_is_the_one_on_the_wall_in_that_zone() -> None:
    assert local_date(NEW_YORK_LATE_EVENING, "America/New_York") == date(2026, 10, 31)
    assert local_date(NEW_YORK_LATE_EVENING, "Pacific/Honolulu") == date(2026, 10, 31)
    assert local_date(NEW_YORK_LATE_EVENING, "Europe/Berlin") == date(2026, 11, 1)
    assert local_today("America/New_York", now=NEW_YORK_LATE_EVENING) == date(2026, 10, 31)


def test_a_naive_instant_has_no_date() -> None:
    with pytest.raises(ValueError, match="aware"):
        local_date(datetime(2026, 11, 1, 3, 30), "America/New_York")  # noqa: DTZ001


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2026, 11, 1, 3, 30, tzinfo=UTC),
        datetime(2026, 3, 8, 6, 30, tzinfo=UTC),
        datetime(2026, 12, 31, 11, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 12, 30, tzinfo=UTC),
    ],
)
def test_every_zones_date_lies_within_the_bounds_for_queries_across_zones(
    instant: datetime,
) -> None:
    dates = {local_date(instant, zone) for zone in known_timezones()}
    assert earliest_local_date(instant) <= min(dates)
    assert max(dates) <= latest_local_date(instant)
