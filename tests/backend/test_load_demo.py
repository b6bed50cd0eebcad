"""The demo program: its dates are the clinic's, whatever the hour it is loaded at."""

from __future__ import annotations

from datetime import UTC, date, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from recovery.models import Enrollment, SessionSeries

pytestmark = pytest.mark.django_db


def test_loaded_late_in_the_evening_the_demo_starts_on_new_york_dates(time_machine: Any) -> None:
    # 23:30 on Saturday 31 October in New York, 1 November in UTC.
    time_machine.move_to(datetime(2026, 11, 1, 3, 30, tzinfo=UTC), tick=False)
    call_command("load_demo", stdout=StringIO())
    assert set(Enrollment.objects.values_list("start_date", flat=True)) == {date(2026, 10, 31)}
    assert SessionSeries.objects.get().start_date == date(2026, 11, 1)  # "tomorrow"
