"""patient_daytime: what nobody asked for at a set time reaches the phone by day."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from recovery.dates import patient_daytime

NEW_YORK = ZoneInfo("America/New_York")


def patient(zone: str = "America/New_York") -> Any:
    return cast(Any, SimpleNamespace(timezone=zone))


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        # Just after midnight (an hourly job in the patient's first hour): this morning.
        ((2026, 3, 4, 0, 30), (2026, 3, 4, 8, 0)),
        # Late evening: tomorrow morning.
        ((2026, 3, 4, 22, 15), (2026, 3, 5, 8, 0)),
        # By day: at once.
        ((2026, 3, 4, 12, 0), (2026, 3, 4, 12, 0)),
        ((2026, 3, 4, 8, 0), (2026, 3, 4, 8, 0)),
        # The night the clocks go forward (02:00 to 03:00) and back: still 08:00 on the wall.
        ((2026, 3, 8, 1, 30), (2026, 3, 8, 8, 0)),
        ((2026, 11, 1, 1, 30), (2026, 11, 1, 8, 0)),
    ],
)
def test_a_night_instant_moves_to_the_next_local_morning(
    local: tuple[int, int, int, int, int], expected: tuple[int, int, int, int, int]
) -> None:
    def wall(y: int, m: int, d: int, hour: int, minute: int) -> datetime:
        return datetime(y, m, d, hour, minute, tzinfo=NEW_YORK)

    assert patient_daytime(patient(), wall(*local)) == wall(*expected)


def test_the_patients_own_zone_decides_not_utc() -> None:
    # 03:00 UTC is 17:00 the evening before in Honolulu: day there, so at once.
    instant = datetime(2026, 3, 4, 3, 0, tzinfo=ZoneInfo("UTC"))
    assert patient_daytime(patient("Pacific/Honolulu"), instant) == instant
    assert patient_daytime(patient("Europe/Berlin"), instant) != instant
