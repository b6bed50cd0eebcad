"""The missed check-in sweep: one flag per missed window, in local time, never twice."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection

from recovery.models import CheckInSchedule, Flag, FlagEvent, FlagKind
from recovery.services.checkins import checkin_submit
from recovery.services.enrollment import enrollment_discharge
from recovery.services.schedules import checkin_schedule_set
from recovery.services.sweep import sweep_missed_checkins
from tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db

NY = "America/New_York"


def _schedule(enrollment, **overrides):
    params = {
        "opens_at": time(17, 0),
        "due_by": time(21, 0),
        "days_of_week": [1, 2, 3, 4, 5, 6, 7],
        "grace_minutes": 60,
    }
    params.update(overrides)
    return checkin_schedule_set(enrollment=enrollment, **params)


def _answers(at: datetime) -> dict:
    return {
        "mood": 3,
        "craving": 2,
        "used_substance": False,
        "device_time": at,
        "device_timezone": NY,
    }


def test_a_missed_window_raises_one_flag_after_grace():
    enrollment = EnrollmentFactory(program__timezone=NY, timezone=NY)
    # Monday 2026-06-01, 12:00 in New York (EDT, UTC-4).
    with time_machine.travel(datetime(2026, 6, 1, 16, 0, tzinfo=UTC), tick=False) as traveller:
        schedule = _schedule(enrollment)
        # Due 21:00 EDT + 60 min grace = 22:00 EDT = 02:00 UTC next day.
        assert schedule.next_due_at == datetime(2026, 6, 2, 2, 0, tzinfo=UTC)

        traveller.move_to(datetime(2026, 6, 2, 1, 59, tzinfo=UTC))
        assert sweep_missed_checkins().flags == 0

        traveller.move_to(datetime(2026, 6, 2, 2, 1, tzinfo=UTC))
        report = sweep_missed_checkins()
        assert report.flags == 1
        flag = Flag.objects.get()
        assert (flag.kind, flag.window_key) == (FlagKind.MISSED_CHECKIN, "2026-06-01")

        assert sweep_missed_checkins().flags == 0  # never twice
        schedule.refresh_from_db()
        assert schedule.next_window_date.isoformat() == "2026-06-02"


def test_two_missed_windows_in_a_row_raise_a_more_severe_flag():
    enrollment = EnrollmentFactory(program__timezone=NY, timezone=NY)
    with time_machine.travel(datetime(2026, 6, 1, 16, 0, tzinfo=UTC), tick=False) as traveller:
        _schedule(enrollment)
        traveller.move_to(datetime(2026, 6, 2, 3, 0, tzinfo=UTC))
        sweep_missed_checkins()
        traveller.move_to(datetime(2026, 6, 3, 3, 0, tzinfo=UTC))
        sweep_missed_checkins()
    kinds = sorted(Flag.objects.values_list("kind", "window_key"))
    assert kinds == [
        (FlagKind.MISSED_CHECKIN, "2026-06-01"),
        (FlagKind.MISSED_CHECKIN, "2026-06-02"),
        (FlagKind.MISSED_CHECKINS_IN_A_ROW, "2026-06-02"),
    ]
    in_a_row = Flag.objects.get(kind=FlagKind.MISSED_CHECKINS_IN_A_ROW)
    assert in_a_row.severity > Flag.objects.filter(kind=FlagKind.MISSED_CHECKIN).first().severity


def test_a_checkin_during_grace_cancels_nothing_and_raises_nothing():
    enrollment = EnrollmentFactory(program__timezone=NY, timezone=NY)
    with time_machine.travel(datetime(2026, 6, 1, 16, 0, tzinfo=UTC), tick=False) as traveller:
        _schedule(enrollment)
        # 21:30 EDT: after due_by, inside the 60-minute grace.
        traveller.move_to(datetime(2026, 6, 2, 1, 30, tzinfo=UTC))
        checkin_submit(
            enrollment=enrollment, client_id=uuid.uuid4(), data=_answers(datetime.now(tz=UTC))
        )
        traveller.move_to(datetime(2026, 6, 2, 2, 30, tzinfo=UTC))
        assert sweep_missed_checkins().flags == 0
    schedule = CheckInSchedule.objects.get(enrollment=enrollment)
    assert schedule.next_window_date.isoformat() == "2026-06-02"
    assert schedule.consecutive_missed == 0


def test_a_checkin_before_the_window_opens_does_not_count():
    enrollment = EnrollmentFactory(program__timezone=NY, timezone=NY)
    with time_machine.travel(datetime(2026, 6, 1, 14, 0, tzinfo=UTC), tick=False) as traveller:
        _schedule(enrollment)
        checkin_submit(
            enrollment=enrollment, client_id=uuid.uuid4(), data=_answers(datetime.now(tz=UTC))
        )
        traveller.move_to(datetime(2026, 6, 2, 3, 0, tzinfo=UTC))
        assert sweep_missed_checkins().flags == 1


@pytest.mark.parametrize(
    ("local_day", "utc_deadline"),
    [
        # Spring forward: 2026-03-08 02:00 EST -> 03:00 EDT. The day before is EST.
        ("2026-03-07", datetime(2026, 3, 8, 3, 0, tzinfo=UTC)),  # 22:00 EST = 03:00 UTC
        ("2026-03-08", datetime(2026, 3, 9, 2, 0, tzinfo=UTC)),  # 22:00 EDT = 02:00 UTC
        # Fall back: 2026-11-01 02:00 EDT -> 01:00 EST.
        ("2026-10-31", datetime(2026, 11, 1, 2, 0, tzinfo=UTC)),  # 22:00 EDT
        ("2026-11-01", datetime(2026, 11, 2, 3, 0, tzinfo=UTC)),  # 22:00 EST
    ],
)
def test_windows_stay_in_local_time_across_daylight_saving(local_day, utc_deadline):
    enrollment = EnrollmentFactory(program__timezone=NY, timezone=NY)
    day = datetime.fromisoformat(local_day).replace(hour=12, tzinfo=UTC)
    with time_machine.travel(day, tick=False) as traveller:
        schedule = _schedule(enrollment)
        assert schedule.next_due_at == utc_deadline
        traveller.move_to(utc_deadline - timedelta(minutes=1))
        assert sweep_missed_checkins().flags == 0
        traveller.move_to(utc_deadline + timedelta(minutes=1))
        assert sweep_missed_checkins().flags == 1
    assert Flag.objects.get().window_key == local_day


def test_a_paused_schedule_raises_nothing():
    enrollment = EnrollmentFactory(program__timezone=NY, timezone=NY)
    with time_machine.travel(datetime(2026, 6, 1, 16, 0, tzinfo=UTC), tick=False) as traveller:
        schedule = _schedule(enrollment, paused=True, paused_reason="hospital stay")
        assert schedule.next_due_at is None
        traveller.move_to(datetime(2026, 6, 5, 3, 0, tzinfo=UTC))
        assert sweep_missed_checkins().flags == 0


def test_a_discharged_patient_raises_nothing(counselor):
    enrollment = EnrollmentFactory(program=counselor.program, primary_counselor=counselor)
    with time_machine.travel(datetime(2026, 6, 1, 16, 0, tzinfo=UTC), tick=False) as traveller:
        _schedule(enrollment)
        enrollment_discharge(enrollment=enrollment, actor=counselor)
        traveller.move_to(datetime(2026, 6, 5, 3, 0, tzinfo=UTC))
        assert sweep_missed_checkins().flags == 0


def test_only_scheduled_days_have_windows():
    enrollment = EnrollmentFactory(program__timezone=NY, timezone=NY)
    # Monday 2026-06-01; windows only on Wednesdays (3).
    with time_machine.travel(datetime(2026, 6, 1, 16, 0, tzinfo=UTC), tick=False):
        schedule = _schedule(enrollment, days_of_week=[3])
    assert schedule.next_window_date.isoformat() == "2026-06-03"


def test_a_missed_window_notifies_the_care_team(counselor):
    from notifications.models import Notification

    enrollment = EnrollmentFactory(program=counselor.program, primary_counselor=counselor)
    with time_machine.travel(datetime(2026, 6, 1, 16, 0, tzinfo=UTC), tick=False) as traveller:
        _schedule(enrollment)
        traveller.move_to(datetime(2026, 6, 2, 3, 0, tzinfo=UTC))
        sweep_missed_checkins()
    notification = Notification.objects.get(recipient=counselor, kind="flag_raised")
    assert notification.payload["kind"] == FlagKind.MISSED_CHECKIN


def test_the_patient_gets_one_nudge_before_the_window_closes():
    from notifications.models import Notification

    enrollment = EnrollmentFactory(program__timezone=NY, timezone=NY)
    with time_machine.travel(datetime(2026, 6, 1, 16, 0, tzinfo=UTC), tick=False):
        _schedule(enrollment)
        _schedule(enrollment)  # setting it again does not double the nudge
    nudges = Notification.objects.filter(recipient=enrollment.patient, kind="checkin_nudge")
    pending = nudges.filter(state="pending")
    assert pending.count() == 1
    # 60 minutes before due_by (21:00 EDT) = 20:00 EDT = 00:00 UTC.
    assert pending.get().due_at == datetime(2026, 6, 2, 0, 0, tzinfo=UTC)


def test_a_checkin_cancels_the_pending_nudge():
    from notifications.models import Notification

    enrollment = EnrollmentFactory(program__timezone=NY, timezone=NY)
    with time_machine.travel(datetime(2026, 6, 1, 21, 30, tzinfo=UTC), tick=False):
        _schedule(enrollment)
        checkin_submit(
            enrollment=enrollment, client_id=uuid.uuid4(), data=_answers(datetime.now(tz=UTC))
        )
    states = dict(
        Notification.objects.filter(kind="checkin_nudge").values_list(
            "payload__window_day", "state"
        )
    )
    assert states["2026-06-01"] == "cancelled"
    assert states["2026-06-02"] == "pending"


def test_a_window_changed_the_same_evening_gets_its_own_nudge():
    from notifications.dispatch import dispatch_due
    from notifications.models import Notification
    from notifications.push import memory
    from tests.factories import DeviceFactory

    enrollment = EnrollmentFactory(program__timezone=NY, timezone=NY)
    DeviceFactory(user=enrollment.patient)
    # Monday 2026-06-01 in New York (EDT, UTC-4): today's window 17:00-19:00.
    with time_machine.travel(datetime(2026, 6, 1, 16, 0, tzinfo=UTC), tick=False) as clock:
        _schedule(enrollment, due_by=time(19, 0))
        clock.move_to(datetime(2026, 6, 1, 22, 0, 30, tzinfo=UTC))  # 18:00 EDT
        assert dispatch_due().sent == 1
        # 18:30: the counselor gives the patient until 22:00 tonight.
        clock.move_to(datetime(2026, 6, 1, 22, 30, tzinfo=UTC))
        _schedule(enrollment, due_by=time(22, 0))
        clock.move_to(datetime(2026, 6, 2, 1, 0, 30, tzinfo=UTC))  # 21:00 EDT
        assert dispatch_due().sent == 1
    nudges = Notification.objects.filter(recipient=enrollment.patient, kind="checkin_nudge")
    assert sorted((n.payload["window_day"], n.state, n.due_at) for n in nudges) == [
        ("2026-06-01", "sent", datetime(2026, 6, 1, 22, 0, tzinfo=UTC)),
        ("2026-06-01", "sent", datetime(2026, 6, 2, 1, 0, tzinfo=UTC)),
    ]
    assert len(memory.outbox) == 2


def test_a_window_changed_before_its_nudge_moves_the_nudge():
    from notifications.models import Notification

    enrollment = EnrollmentFactory(program__timezone=NY, timezone=NY)
    with time_machine.travel(datetime(2026, 6, 1, 16, 0, tzinfo=UTC), tick=False):
        _schedule(enrollment, due_by=time(19, 0))
        _schedule(enrollment, due_by=time(22, 0))
        _schedule(enrollment, due_by=time(22, 0))
    pending = Notification.objects.filter(
        recipient=enrollment.patient, kind="checkin_nudge", state="pending"
    )
    assert [n.due_at for n in pending] == [datetime(2026, 6, 2, 1, 0, tzinfo=UTC)]


@pytest.mark.django_db(transaction=True)
def test_two_sweepers_at_once_flag_each_window_once():
    enrollments = [EnrollmentFactory(program__timezone=NY, timezone=NY) for _ in range(30)]
    with time_machine.travel(datetime(2026, 6, 1, 16, 0, tzinfo=UTC), tick=False):
        for enrollment in enrollments:
            _schedule(enrollment)
    now = datetime(2026, 6, 2, 3, 0, tzinfo=UTC)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def sweeper() -> None:
        try:
            barrier.wait()
            sweep_missed_checkins(now=now, batch_size=7)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Flag.objects.filter(kind=FlagKind.MISSED_CHECKIN).count() == 30
    assert FlagEvent.objects.filter(action="raised").count() == 30


def test_a_thousand_flags_at_once_fit_sqlites_query_limits():
    """One sweep batch raises about a thousand flags; the query that finds which exist
    must not grow one clause per flag (SQLite refuses an expression deeper than 1,000)."""
    from recovery.services.flags import FlagCandidate, flags_raise

    enrollments = [EnrollmentFactory(program__timezone=NY, timezone=NY) for _ in range(3)]
    windows = [f"2025-{(n % 12) + 1:02d}-{(n % 28) + 1:02d}" for n in range(400)]
    candidates = [
        FlagCandidate(enrollment, FlagKind.MISSED_CHECKIN, window)
        for window in windows
        for enrollment in enrollments
    ]
    now = datetime(2026, 6, 2, 3, 0, tzinfo=UTC)
    raised = flags_raise(candidates=candidates, now=now)
    assert len(raised) == len({(c.enrollment.id, c.window_key) for c in candidates})
    assert flags_raise(candidates=candidates, now=now) == []
