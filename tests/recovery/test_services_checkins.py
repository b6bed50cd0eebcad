"""Check-in services: idempotency across offsets, closed enrollments, zone changes."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import UTC, datetime, time

import pytest
import time_machine

from backend.errors import NotAllowed, ServiceError
from backend.timezones import local_today
from recovery.models import CheckIn, CheckInSchedule
from recovery.services.checkins import checkin_submit, urge_record
from recovery.services.enrollment import enrollment_discharge, enrollment_update_fields
from recovery.services.schedules import checkin_schedule_set
from recovery.services.series import series_create

pytestmark = pytest.mark.django_db


def _answers(at: datetime) -> dict:
    return {
        "mood": 3,
        "craving": 2,
        "used_substance": False,
        "device_time": at,
        "device_timezone": "America/New_York",
    }


def test_the_same_instant_resent_with_another_offset_is_a_replay(enrollment):
    client_id = uuid.uuid4()
    local = datetime.now(tz=zoneinfo.ZoneInfo("America/New_York")).replace(microsecond=0)
    first = checkin_submit(enrollment=enrollment, client_id=client_id, data=_answers(local))
    again = checkin_submit(
        enrollment=enrollment, client_id=client_id, data=_answers(local.astimezone(UTC))
    )
    assert first.created
    assert not again.created
    assert CheckIn.objects.count() == 1


def test_a_discharged_patient_can_no_longer_check_in_or_press_the_urge_button(
    enrollment, counselor
):
    enrollment_discharge(enrollment=enrollment, actor=counselor)
    with pytest.raises(NotAllowed):
        checkin_submit(
            enrollment=enrollment, client_id=uuid.uuid4(), data=_answers(datetime.now(tz=UTC))
        )
    with pytest.raises(NotAllowed):
        urge_record(enrollment=enrollment)


def test_moving_a_patient_to_another_zone_moves_their_deadline(enrollment):
    with time_machine.travel(datetime(2026, 6, 1, 16, 0, tzinfo=UTC), tick=False):
        checkin_schedule_set(
            enrollment=enrollment,
            opens_at=time(17),
            due_by=time(21),
            days_of_week=[1, 2, 3, 4, 5, 6, 7],
            grace_minutes=60,
        )
        enrollment_update_fields(enrollment=enrollment, data={"timezone": "America/Los_Angeles"})
    schedule = CheckInSchedule.objects.get(enrollment=enrollment)
    # 22:00 in Los Angeles (PDT, UTC-7) is 05:00 UTC.
    assert schedule.next_due_at == datetime(2026, 6, 2, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize("rule", ["FREQ=HOURLY;COUNT=5", "FREQ=MINUTELY;COUNT=5"])
def test_sessions_repeat_daily_at_most(enrollment, rule):
    with pytest.raises(ServiceError):
        series_create(
            program_id=enrollment.program_id,
            kind="group_therapy",
            title="Too often",
            rule=rule,
            start_date=local_today("America/New_York"),
            start_time=time(18),
            duration_minutes=60,
            timezone_name="America/New_York",
        )


def _patient_as_authenticated(enrollment):
    """The patient as a request sees them: read with AUTH_USER_SELECT_RELATED."""
    from django.conf import settings

    from recovery.models import User

    return User.objects.select_related(*settings.AUTH_USER_SELECT_RELATED).get(
        id=enrollment.patient_id
    )


def test_a_schedule_moved_since_the_patient_was_read_is_read_again_before_moving_it(
    enrollment,
):
    from recovery.services.sweep import sweep_missed_checkins

    ny = zoneinfo.ZoneInfo("America/New_York")
    with time_machine.travel(datetime(2026, 6, 1, 18, 0, tzinfo=ny), tick=False):
        checkin_schedule_set(
            enrollment=enrollment,
            opens_at=time(17),
            due_by=time(21),
            days_of_week=[1, 2, 3, 4, 5, 6, 7],
            grace_minutes=60,
        )
        stale = _patient_as_authenticated(enrollment).enrollment
    assert stale.checkin_schedule.next_window_date.isoformat() == "2026-06-01"
    # The sweep closes Monday's window (missed) after the patient was read...
    with time_machine.travel(datetime(2026, 6, 1, 22, 30, tzinfo=ny), tick=False):
        sweep_missed_checkins(now=datetime(2026, 6, 1, 22, 30, tzinfo=ny))
    # ...and the check-in that arrives is inside Tuesday's window: Tuesday is satisfied.
    with time_machine.travel(datetime(2026, 6, 2, 18, 0, tzinfo=ny), tick=False):
        checkin_submit(
            enrollment=stale,
            client_id=uuid.uuid4(),
            data=_answers(datetime(2026, 6, 2, 18, 0, tzinfo=ny)),
        )
    schedule = CheckInSchedule.objects.get(enrollment=enrollment)
    assert schedule.next_window_date.isoformat() == "2026-06-03"
    assert schedule.consecutive_missed == 0
