"""The program reports against hand-computed figures: IOP service days in a week with a
session past local midnight and the night the clocks change, check-in adherence and
attendance by week, and flags by kind with their times and alert fatigue."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from recovery.models import CheckIn, Enrollment, Flag, Program, TreatmentSession, User
from recovery.selectors.reports import ReportRange, adherence_report, flags_report
from recovery.selectors.service_days import service_days_report
from recovery.services.flags import flag_acknowledge, flag_resolve
from recovery.services.sessions import attendance_record
from tests.factories import (
    EnrollmentFactory,
    ProgramFactory,
    ScheduleFactory,
    SessionFactory,
    SupervisorFactory,
)

pytestmark = pytest.mark.django_db
NEW_YORK = ZoneInfo("America/New_York")
# Monday 2 March 2026; the clocks go forward in New York at 02:00 on Sunday 8 March.
MONDAY = date(2026, 3, 2)
LATER = datetime(2026, 3, 20, 16, tzinfo=UTC)


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    """The instant of a wall time in New York, in UTC (so arithmetic on it is real time)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def _attend(
    enrollments: list[Enrollment],
    starts: datetime,
    hours: float,
    actor: User,
    status: str = "present",
) -> TreatmentSession:
    session = SessionFactory(
        program=enrollments[0].program, starts_at=starts, ends_at=starts + timedelta(hours=hours)
    )
    session.patients.set(enrollments)
    for enrollment in enrollments:
        attendance_record(session=session, enrollment=enrollment, status=status, actor=actor)
    return session


@pytest.fixture
def world(time_machine: Any) -> dict[str, Any]:
    time_machine.move_to(LATER, tick=False)
    program = ProgramFactory(timezone="America/New_York")
    supervisor = SupervisorFactory(program=program)
    start = MONDAY - timedelta(days=7)
    ana = EnrollmentFactory(program=program, start_date=start, patient__last_name="Alvarez")
    ben = EnrollmentFactory(program=program, start_date=start, patient__last_name="Brown")
    return {"program": program, "supervisor": supervisor, "ana": ana, "ben": ben}


def _days(report: dict[str, Any], enrollment: Enrollment) -> dict[str, Any]:
    return next(p for p in report["patients"] if p["patient"] == enrollment.id)


def test_service_days_of_a_hand_computed_week(world: dict[str, Any]) -> None:
    ana, ben, supervisor = world["ana"], world["ben"], world["supervisor"]
    monday, tuesday, wednesday, thursday = (MONDAY + timedelta(days=n) for n in range(4))
    _attend([ana, ben], _local(monday, 9), 3, supervisor)  # both: 3 h, a service day
    _attend([ana], _local(tuesday, 9), 2.5, supervisor)  # 2.5 h: not one
    _attend([ben], _local(tuesday, 9), 2, supervisor)
    _attend([ana], _local(wednesday, 9), 1.5, supervisor)  # two sessions add up: 3 h
    _attend([ana], _local(wednesday, 13), 1.5, supervisor)
    # Thursday 21:00 to 00:00 in New York is Friday in UTC: still Ana's Thursday.
    _attend([ana], _local(thursday, 21), 3, supervisor)
    # Ben's Wednesday runs past local midnight: one visit, billed on Wednesday.
    _attend([ben], _local(wednesday, 22, 30), 3, supervisor)
    # 00:30 to 03:30 on the wall on the night the clocks go forward: two hours attended.
    sunday = MONDAY + timedelta(days=6)
    night = _local(sunday, 0, 30)
    _attend([ben], night, (_local(sunday, 3, 30) - night).total_seconds() / 3600, supervisor)
    # Absent, and a cancelled session: no hours.
    _attend([ben], _local(thursday, 9), 3, supervisor, status="absent")
    cancelled = _attend([ben], _local(thursday, 13), 3, supervisor)
    TreatmentSession.objects.filter(id=cancelled.id).update(status="cancelled")

    report = service_days_report(
        user=supervisor, span=ReportRange(MONDAY, MONDAY + timedelta(days=6))
    ).data

    ana_days = _days(report, ana)
    assert [(d["date"], d["hours"], d["service_day"]) for d in ana_days["days"]] == [
        ("2026-03-02", 3.0, True),
        ("2026-03-03", 2.5, False),
        ("2026-03-04", 3.0, True),
        ("2026-03-05", 3.0, True),
    ]
    assert ana_days["days"][2]["sessions"] == 2
    assert ana_days["weeks"] == [{"week_start": "2026-03-02", "service_days": 3, "qualifies": True}]
    assert (ana_days["service_days"], ana_days["qualifying_weeks"]) == (3, 1)
    ben_days = _days(report, ben)
    assert [(d["date"], d["hours"], d["service_day"]) for d in ben_days["days"]] == [
        ("2026-03-02", 3.0, True),
        ("2026-03-03", 2.0, False),
        ("2026-03-04", 3.0, True),
        ("2026-03-08", 2.0, False),
    ]
    assert ben_days["weeks"][0]["qualifies"] is False
    assert ben_days["weeks"][0]["service_days"] == 2


def test_service_days_follow_the_program_settings_and_whole_weeks(world: dict[str, Any]) -> None:
    ana, supervisor = world["ana"], world["supervisor"]
    for n in range(3):
        _attend([ana], _local(MONDAY + timedelta(days=n), 9), 2, supervisor)
    span = ReportRange(MONDAY + timedelta(days=2), MONDAY + timedelta(days=6))
    report = service_days_report(user=supervisor, span=span)
    assert _days(report.data, ana)["weeks"][0]["service_days"] == 0

    Program.objects.filter(id=world["program"].id).update(
        service_day_min_hours=Decimal("2.0"), service_week_min_days=3
    )
    supervisor.refresh_from_db()
    report = service_days_report(user=supervisor, span=span)
    shown = _days(report.data, ana)
    # Only Wednesday is in the range; the week counts Monday and Tuesday too.
    assert [d["date"] for d in shown["days"]] == ["2026-03-04"]
    assert shown["weeks"] == [{"week_start": "2026-03-02", "service_days": 3, "qualifies": True}]
    assert report.rows[0][:4] == ["patient_id", "last_name", "first_name", "date"]
    assert report.rows[1] == [
        *(ana.id, "Alvarez", ana.patient.first_name, "2026-03-04", "2026-03-02"),
        *(1, 2.0, "yes", 3, "yes"),
    ]


def test_no_program_sees_another_programs_patients(world: dict[str, Any]) -> None:
    _attend([world["ana"]], _local(MONDAY, 9), 3, world["supervisor"])
    stranger = SupervisorFactory(program=ProgramFactory(timezone="America/New_York"))
    span = ReportRange(MONDAY, MONDAY + timedelta(days=6))
    assert service_days_report(user=stranger, span=span).data["patients"] == []
    assert adherence_report(user=stranger, span=span).data["patients"] == []
    assert flags_report(user=stranger, span=span).data["total"]["raised"] == 0


def _checkin(enrollment: Enrollment, at: datetime) -> None:
    CheckIn.objects.create(
        enrollment=enrollment,
        mood=3,
        craving=2,
        used_substance=False,
        device_time=at,
        device_timezone="America/New_York",
        received_at=at,
        payload_hash="-",
    )


def test_adherence_and_attendance_by_week(world: dict[str, Any]) -> None:
    ana, ben, supervisor = world["ana"], world["ben"], world["supervisor"]
    ScheduleFactory(enrollment=ana, days_of_week=[1, 2, 3, 4, 5])  # weekdays: 5 due a week
    for n in (0, 1, 2, 5):  # Mon, Tue, Wed, and Saturday (not due)
        _checkin(ana, _local(MONDAY + timedelta(days=n), 20))
    _checkin(ana, _local(MONDAY + timedelta(days=1), 21))  # a second one the same day
    _checkin(ana, _local(MONDAY + timedelta(days=7), 23, 30))  # Monday night, Tuesday in UTC
    _checkin(ben, _local(MONDAY, 8))
    _attend([ana, ben], _local(MONDAY, 9), 3, supervisor)
    _attend([ana], _local(MONDAY + timedelta(days=1), 9), 3, supervisor, status="absent")
    _attend([ana], _local(MONDAY + timedelta(days=2), 9), 3, supervisor, status="excused")
    _attend([ana], _local(MONDAY + timedelta(days=3), 9), 3, supervisor, status="late")

    report = adherence_report(
        user=supervisor, span=ReportRange(MONDAY, MONDAY + timedelta(days=13))
    )

    first, second = _days(report.data, ana)["weeks"]
    assert (first["checkins_done"], first["checkins_expected"], first["adherence"]) == (3, 5, 0.6)
    assert (second["checkins_done"], second["checkins_expected"]) == (1, 5)
    assert (first["sessions_attended"], first["sessions_recorded"]) == (2, 3)
    assert first["hours_attended"] == 6.0
    ben_first = _days(report.data, ben)["weeks"][0]
    assert (ben_first["checkins_done"], ben_first["checkins_expected"]) == (1, 7)
    program_first = report.data["weeks"][0]
    assert (program_first["checkins_done"], program_first["checkins_expected"]) == (4, 12)
    assert program_first["adherence"] == 0.333
    assert (program_first["sessions_attended"], program_first["sessions_recorded"]) == (3, 4)
    assert program_first["hours_attended"] == 9.0
    assert report.rows[-2][:5] == ["program", "", "", "", "2026-03-02"]
    assert report.patient_ids == {ana.id, ben.id}


def test_adherence_counts_no_day_before_the_start_nor_after_today(world: dict[str, Any]) -> None:
    late = EnrollmentFactory(program=world["program"], start_date=date(2026, 3, 18))
    report = adherence_report(
        user=world["supervisor"], span=ReportRange(date(2026, 3, 16), date(2026, 3, 29))
    )
    weeks = _days(report.data, late)["weeks"]
    # Started Wednesday the 18th; today is Friday the 20th: three days due, none after.
    assert [w["checkins_expected"] for w in weeks] == [3, 0]
    assert weeks[1]["adherence"] is None


def _flag(enrollment: Enrollment, kind: str, created: datetime, n: int) -> Flag:
    return Flag.objects.create(
        enrollment=enrollment, kind=kind, severity=20, window_key=f"w{n}", created_at=created
    )


def test_flags_by_kind_with_times_and_alert_fatigue(
    world: dict[str, Any], time_machine: Any
) -> None:
    ana, ben, supervisor = world["ana"], world["ben"], world["supervisor"]
    raised = _local(MONDAY, 10)
    cravings = [_flag(ana, "high_craving", raised, n) for n in range(3)]
    missed = _flag(ben, "missed_checkin", raised, 9)
    _flag(ben, "missed_checkin", _local(MONDAY - timedelta(days=1), 10), 10)  # before the range
    time_machine.move_to(raised + timedelta(minutes=10), tick=False)
    flag_acknowledge(flag=cravings[0], actor=supervisor)
    time_machine.move_to(raised + timedelta(minutes=30), tick=False)
    flag_resolve(flag=cravings[0], actor=supervisor, outcome_note="Called.")
    flag_resolve(
        flag=cravings[1], actor=supervisor, outcome_note="Fine.", resolution="no_action_needed"
    )
    time_machine.move_to(raised + timedelta(minutes=90), tick=False)
    flag_acknowledge(flag=missed, actor=supervisor)
    time_machine.move_to(LATER, tick=False)

    report = flags_report(user=supervisor, span=ReportRange(MONDAY, MONDAY + timedelta(days=6)))

    craving, missed_row = report.data["kinds"]
    assert craving["kind"] == "high_craving"
    assert (craving["raised"], craving["acknowledged"], craving["resolved"]) == (3, 2, 2)
    assert craving["minutes_to_acknowledge_median"] == 20.0  # 10 and 30 minutes
    assert craving["minutes_to_resolve_mean"] == 30.0
    assert (craving["resolved_no_action_needed"], craving["share_no_action_needed"]) == (1, 0.5)
    assert (missed_row["raised"], missed_row["minutes_to_acknowledge_mean"]) == (1, 90.0)
    assert missed_row["minutes_to_resolve_median"] is None
    total = report.data["total"]
    assert (total["raised"], total["acknowledged"], total["resolved"]) == (4, 3, 2)
    assert total["minutes_to_acknowledge_median"] == 30.0
    assert report.rows[-1][0] == "all"
    assert report.patient_ids == {ana.id, ben.id}
