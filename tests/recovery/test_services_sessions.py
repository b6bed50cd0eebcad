"""Sessions and their reminders: offsets, moves, cancellations, series across DST."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from backend.errors import ServiceError
from notifications.models import Notification
from notifications.services import preference_set
from recovery.models import AttendanceStatus, TreatmentSession
from recovery.services.series import (
    series_cancel_rest,
    series_create,
    series_expand_all,
    series_move_rest,
)
from recovery.services.sessions import (
    attendance_record,
    session_cancel,
    session_create,
    session_update,
)
from tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db
NY = zoneinfo.ZoneInfo("America/New_York")


def _reminders(**filters):
    return Notification.objects.filter(kind="session_reminder", **filters)


def _create(enrollment, starts_in: timedelta, hours: int = 3):
    starts = timezone.now() + starts_in
    return session_create(
        program_id=enrollment.program_id,
        kind="group_therapy",
        title="Process group",
        starts_at=starts,
        ends_at=starts + timedelta(hours=hours),
        patients=[enrollment],
    )


def test_reminders_at_the_default_offsets_expire_when_the_session_starts(enrollment):
    session = _create(enrollment, timedelta(days=3))
    due = sorted(_reminders().values_list("due_at", flat=True))
    assert due == [session.starts_at - timedelta(hours=24), session.starts_at - timedelta(hours=1)]
    assert set(_reminders().values_list("expires_at", flat=True)) == {session.starts_at}


def test_a_session_created_30_minutes_ahead_sends_no_24_hour_reminder(enrollment):
    _create(enrollment, timedelta(minutes=30))
    assert not _reminders().filter(payload__offset_minutes=24 * 60).exists()


def test_a_patient_can_opt_out_of_session_reminders(enrollment):
    preference_set(user_id=enrollment.patient_id, muted_kinds=["session_reminder"])
    session = _create(enrollment, timedelta(days=3))
    assert session.patients.count() == 1
    # Bulk rows bypass per-row checks only for safety kinds; reminders honour the opt-out.
    assert _reminders(state="pending").count() == 0


def test_moving_a_session_moves_its_pending_reminders(enrollment):
    session = _create(enrollment, timedelta(days=3))
    new_start = session.starts_at + timedelta(days=1, hours=2)
    session_update(session=session, starts_at=new_start, ends_at=new_start + timedelta(hours=3))
    pending = sorted(_reminders(state="pending").values_list("due_at", flat=True))
    assert pending == [new_start - timedelta(hours=24), new_start - timedelta(hours=1)]
    assert Notification.objects.filter(kind="session_moved").count() == 1


def test_cancelling_cancels_reminders_and_tells_the_patient(enrollment):
    session = _create(enrollment, timedelta(days=3))
    session_cancel(session=session)
    assert _reminders(state="pending").count() == 0
    notice = Notification.objects.get(kind="session_cancelled")
    assert notice.recipient_id == enrollment.patient_id
    assert notice.due_at <= timezone.now()
    with pytest.raises(ServiceError):
        session_update(session=session, title="again")


def test_a_session_must_end_after_it_starts(enrollment):
    with pytest.raises(ServiceError):
        _create(enrollment, timedelta(days=1), hours=0)


@pytest.mark.parametrize(
    "first_day",
    [date(2026, 2, 23), date(2026, 10, 19)],  # weeks before the March and November changes
    ids=["march", "november"],
)
def test_weekly_1800_series_reminds_at_1700_local_across_dst(enrollment, first_day):
    enrollment.program.reminder_offsets_minutes = [60]
    enrollment.program.save()
    with time_machine.travel(datetime.combine(first_day, time(9), tzinfo=UTC), tick=False):
        series_create(
            program_id=enrollment.program_id,
            kind="group_therapy",
            title="Monday group",
            rule="FREQ=WEEKLY;BYDAY=MO;COUNT=4",
            start_date=first_day,
            start_time=time(18, 0),
            duration_minutes=180,
            timezone_name="America/New_York",
            patients=[enrollment],
        )
    sessions = list(TreatmentSession.objects.order_by("starts_at"))
    assert len(sessions) == 4
    offsets = {s.starts_at.astimezone(NY).utcoffset() for s in sessions}
    assert len(offsets) == 2  # the series crosses a daylight-saving change
    for reminder in _reminders():
        assert reminder.due_at.astimezone(NY).time() == time(17, 0)
    for session in sessions:
        assert session.starts_at.astimezone(NY).time() == time(18, 0)


def test_the_rolling_horizon_expands_later_occurrences(enrollment, time_machine):
    time_machine.move_to(datetime(2026, 6, 1, 12, tzinfo=UTC))
    series = series_create(
        program_id=enrollment.program_id,
        kind="educational_group",
        title="Education",
        rule="FREQ=WEEKLY;BYDAY=MO,WE,TH;COUNT=36",
        start_date=date(2026, 6, 1),
        start_time=time(18, 0),
        duration_minutes=180,
        timezone_name="America/New_York",
        patients=[enrollment],
    )
    first = series.occurrences.count()
    assert 0 < first < 36
    time_machine.move_to(datetime(2026, 6, 22, 12, tzinfo=UTC))
    assert series_expand_all() > 0
    assert series.occurrences.count() > first
    assert series_expand_all() == 0  # idempotent


def test_cancelling_the_rest_of_a_series(enrollment, time_machine):
    time_machine.move_to(datetime(2026, 6, 1, 12, tzinfo=UTC))
    series = series_create(
        program_id=enrollment.program_id,
        kind="support_group",
        title="Peer support",
        rule="FREQ=WEEKLY;BYDAY=TU;COUNT=10",
        start_date=date(2026, 6, 2),
        start_time=time(12, 0),
        duration_minutes=60,
        timezone_name="America/New_York",
        patients=[enrollment],
    )
    cut = datetime(2026, 6, 10, tzinfo=UTC)
    cancelled = series_cancel_rest(series=series, from_instant=cut)
    assert cancelled >= 1
    assert not series.occurrences.filter(starts_at__gte=cut, status="scheduled").exists()
    time_machine.move_to(datetime(2026, 6, 30, 12, tzinfo=UTC))
    series_expand_all()
    assert not series.occurrences.filter(starts_at__gte=cut, status="scheduled").exists()


def test_an_invalid_rule_is_refused(enrollment):
    with pytest.raises(ServiceError):
        series_create(
            program_id=enrollment.program_id,
            kind="group_therapy",
            title="Bad",
            rule="FREQ=SOMETIMES",
            start_date=date(2026, 6, 1),
            start_time=time(18),
            duration_minutes=60,
            timezone_name="America/New_York",
        )


def test_attendance_minutes_follow_the_status(enrollment, counselor):
    session = _create(enrollment, timedelta(days=1))
    present = attendance_record(
        session=session, enrollment=enrollment, status=AttendanceStatus.PRESENT, actor=counselor
    )
    assert present.minutes_attended == 180
    late = attendance_record(
        session=session,
        enrollment=enrollment,
        status=AttendanceStatus.LATE,
        actor=counselor,
        minutes_attended=150,
    )
    assert late.id == present.id
    assert late.minutes_attended == 150
    with pytest.raises(ServiceError):
        attendance_record(
            session=session,
            enrollment=enrollment,
            status=AttendanceStatus.ABSENT,
            actor=counselor,
            minutes_attended=30,
        )
    stranger = EnrollmentFactory(program=enrollment.program)
    with pytest.raises(ServiceError):
        attendance_record(
            session=session, enrollment=stranger, status=AttendanceStatus.PRESENT, actor=counselor
        )


@pytest.mark.parametrize(
    ("rule", "moved_rule", "total"),
    [
        ("FREQ=WEEKLY;BYDAY=MO,WE,TH;COUNT=12", "FREQ=WEEKLY;BYDAY=MO,WE,TH;COUNT=6", 12),
        # 1 June to Monday 20 July: seven full weeks of three, and that Monday.
        ("FREQ=WEEKLY;BYDAY=MO,WE,TH;UNTIL=20260720T235959", None, 22),
    ],
)
def test_moving_the_rest_of_a_series_keeps_how_many_are_left(
    enrollment, time_machine, rule, moved_rule, total
):
    """A series of 12 moved after its first two weeks (6 held) goes on with the 6 left,
    not 12 more; an UNTIL rule ends on the same day as before."""
    time_machine.move_to(datetime(2026, 6, 1, 12, tzinfo=UTC))
    series = series_create(
        program_id=enrollment.program_id,
        kind="group_therapy",
        title="Process group",
        rule=rule,
        start_date=date(2026, 6, 1),
        start_time=time(18, 0),
        duration_minutes=180,
        timezone_name="America/New_York",
        patients=[enrollment],
    )
    time_machine.move_to(datetime(2026, 6, 14, 12, tzinfo=UTC))
    moved = series_move_rest(
        series=series, from_date=date(2026, 6, 15), start_time=time(17, 0), duration_minutes=120
    )
    assert moved.rrule == (moved_rule or rule)
    time_machine.move_to(datetime(2026, 7, 25, 12, tzinfo=UTC))
    series_expand_all()
    held = series.occurrences.filter(status="scheduled").count()
    assert held == 6
    assert held + moved.occurrences.count() == total
