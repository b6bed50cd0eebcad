"""Contingency management earning: the escalating schedule week by week, prize draws, the
caps, a refused opioid target, a reversal, and one fact earning once however written."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection

from backend.errors import ServiceError
from notifications.dispatch import dispatch_due
from notifications.models import Notification
from notifications.push import memory
from recovery.models import (
    AttendanceStatus,
    Behaviour,
    EntryKind,
    IncentiveEntry,
    IncentiveOutcome,
    Schedule,
    ScreenMethod,
    ScreenStatus,
)
from recovery.notification_kinds import NotificationKind
from recovery.services.incentive_facts import (
    incentives_questionnaire_completed,
    incentives_screen_recorded,
)
from recovery.services.incentive_program import (
    OPIOID_REFUSAL,
    SlotInput,
    balance_of,
    incentive_protocol_create,
    incentive_protocol_end,
    incentive_settings_update,
)
from recovery.services.screens import ResultInput, screen_correct, screen_record
from recovery.services.sessions import attendance_record
from tests.conftest import client_for
from tests.factories import (
    CounselorFactory,
    DeviceFactory,
    EnrollmentFactory,
    ProgramFactory,
    SessionFactory,
    SupervisorFactory,
)
from tests.recovery.test_api_checkins import checkin_body

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 6, 1)
N, P, M = "negative", "positive", "missed"

# Higgins-style vouchers: $2.50, $1.25 more for each negative in a row, at most $12.50; a
# positive or missed screen resets to $2.50; the third negative in a row after a reset is
# paid at the value the reset took away. Screens on Monday, Wednesday and Friday.
WORKED_EXAMPLE: list[tuple[tuple[str, str, str], tuple[int, int, int]]] = [
    ((N, N, N), (250, 375, 500)),
    ((N, N, N), (625, 750, 875)),
    ((P, N, N), (0, 250, 375)),  # reset; two in a row after it
    ((N, N, N), (1000, 1125, 1250)),  # the third returns to $10.00, then up to the maximum
    ((N, M, N), (1250, 0, 250)),  # at the maximum; a missed screen resets
    ((N, N, N), (375, 1250, 1250)),  # the third after the reset returns to the maximum
]


@pytest.fixture
def clinic(time_machine: Any) -> dict[str, Any]:
    time_machine.move_to(datetime(2026, 9, 1, 16, 0, tzinfo=UTC), tick=False)
    program = ProgramFactory()
    supervisor = SupervisorFactory(program=program)
    enrollment = EnrollmentFactory(program=program, start_date=MONDAY)
    return {
        "program": program,
        "supervisor": supervisor,
        "counselor": enrollment.primary_counselor,
        "enrollment": enrollment,
    }


def cocaine_vouchers(clinic: dict[str, Any], **overrides: Any) -> Any:
    data = {
        "name": "Cocaine-negative vouchers",
        "behaviour": Behaviour.NEGATIVE_SCREEN,
        "substance": "cocaine",
        "schedule": Schedule.ESCALATING,
        "start": 250,
        "step": 125,
        "maximum": 1250,
        "return_after": 3,
        "started_on": MONDAY,
        **overrides,
    }
    return incentive_protocol_create(
        program=clinic["program"], actor=clinic["supervisor"], data=data, bowl=[]
    )


def screen(clinic: dict[str, Any], day: date, result: str, enrollment: Any = None) -> Any:
    enrollment = enrollment or clinic["enrollment"]
    missed = result == M
    return screen_record(
        enrollment=enrollment,
        actor=clinic["counselor"],
        collected_on=day,
        method=ScreenMethod.URINE,
        status=ScreenStatus.MISSED if missed else ScreenStatus.COMPLETED,
        results=[] if missed else [ResultInput("cocaine", result)],
        observed=None if missed else True,
    ).screen


def earned_for(screen_id: int) -> int:
    return sum(
        IncentiveEntry.objects.filter(outcome__fact_key=f"screen:{screen_id}").values_list(
            "amount_cents", flat=True
        )
    )


def test_escalating_vouchers_follow_the_worked_example_week_by_week(clinic: Any) -> None:
    cocaine_vouchers(clinic)
    total = 0
    for week, (results, paid) in enumerate(WORKED_EXAMPLE):
        monday = MONDAY + timedelta(weeks=week)
        days = [monday, monday + timedelta(days=2), monday + timedelta(days=4)]
        got = tuple(earned_for(screen(clinic, d, r).id) for d, r in zip(days, results, strict=True))
        assert got == paid, f"week {week + 1}"
        total += sum(paid)
        assert balance_of(clinic["enrollment"]) == total, f"week {week + 1}"
    assert total == 11_750


def test_a_screen_not_testing_the_target_or_inconclusive_changes_nothing(clinic: Any) -> None:
    cocaine_vouchers(clinic)
    screen(clinic, MONDAY, N)
    screen_record(
        enrollment=clinic["enrollment"],
        actor=clinic["counselor"],
        collected_on=MONDAY + timedelta(days=2),
        method=ScreenMethod.URINE,
        status=ScreenStatus.COMPLETED,
        results=[ResultInput("alcohol", P), ResultInput("cocaine", "inconclusive")],
        observed=True,
    )
    assert earned_for(screen(clinic, MONDAY + timedelta(days=4), N).id) == 375


def test_opioid_abstinence_is_refused_as_a_target(clinic: Any) -> None:
    for substance in ("fentanyl", "opiates", "oxycodone"):
        with pytest.raises(ServiceError) as refused:
            cocaine_vouchers(clinic, substance=substance)
        assert refused.value.fields == {"substance": [OPIOID_REFUSAL]}
    adherence = cocaine_vouchers(
        clinic, behaviour=Behaviour.MEDICATION_ADHERENCE, substance="buprenorphine"
    )
    assert adherence.pk is not None


def test_moud_adherence_earns_on_a_prescribed_positive(clinic: Any) -> None:
    cocaine_vouchers(clinic, behaviour=Behaviour.MEDICATION_ADHERENCE, substance="buprenorphine")
    recorded = screen_record(
        enrollment=clinic["enrollment"],
        actor=clinic["counselor"],
        collected_on=MONDAY,
        method=ScreenMethod.URINE,
        status=ScreenStatus.COMPLETED,
        results=[ResultInput("buprenorphine", P, prescribed=True)],
        observed=True,
    )
    assert earned_for(recorded.screen.id) == 250


def test_the_yearly_cap_is_reached_mid_week_and_earning_stops_saying_so(clinic: Any) -> None:
    cocaine_vouchers(clinic)
    incentive_settings_update(
        program=clinic["program"],
        actor=clinic["supervisor"],
        patient_year_cap_cents=1000,
        year_budget_cents=None,
    )
    paid = [earned_for(screen(clinic, MONDAY + timedelta(days=d), N).id) for d in (0, 2, 4, 7)]
    assert paid == [250, 375, 375, 0]  # Friday's $5.00 met the $10.00 cap at $3.75
    friday, monday = IncentiveOutcome.objects.order_by("occurred_on")[2:4]
    assert (friday.withheld_cents, monday.withheld_cents) == (125, 625)
    assert balance_of(clinic["enrollment"]) == 1000
    told = Notification.objects.filter(kind=NotificationKind.INCENTIVE).order_by("id")
    assert [n.payload["cap_reached"] for n in told] == [False, False, True, True]
    assert "limit" in told.last().body  # type: ignore[union-attr]
    assert told.last().payload["amount_cents"] == 0  # type: ignore[union-attr]


def test_the_program_budget_stops_earning_for_everyone(clinic: Any) -> None:
    incentive_settings_update(
        program=clinic["program"],
        actor=clinic["supervisor"],
        patient_year_cap_cents=75_000,
        year_budget_cents=400,
    )
    cocaine_vouchers(clinic)
    other = EnrollmentFactory(program=clinic["program"], primary_counselor=clinic["counselor"])
    assert earned_for(screen(clinic, MONDAY, N).id) == 250
    assert earned_for(screen(clinic, MONDAY, N, enrollment=other).id) == 150
    assert earned_for(screen(clinic, MONDAY + timedelta(days=2), N).id) == 0
    assert IncentiveOutcome.objects.get(enrollment=other).withheld_cents == 100


def test_a_corrected_screen_reverses_its_reward_with_a_visible_entry(clinic: Any) -> None:
    cocaine_vouchers(clinic)
    screen(clinic, MONDAY, N)
    wednesday = screen(clinic, MONDAY + timedelta(days=2), N)
    assert balance_of(clinic["enrollment"]) == 625
    screen_correct(
        screen=wednesday,
        actor=clinic["counselor"],
        status=ScreenStatus.COMPLETED,
        results=[ResultInput("cocaine", P)],
        observed=True,
    )
    entries = list(IncentiveEntry.objects.order_by("id").values_list("kind", "amount_cents"))
    assert entries == [(EntryKind.EARNED, 250), (EntryKind.EARNED, 375), (EntryKind.REVERSED, -375)]
    assert balance_of(clinic["enrollment"]) == 250
    assert IncentiveOutcome.objects.get(fact_key=f"screen:{wednesday.id}").reversed_at
    # The positive resets the ladder: Friday earns the start again.
    assert earned_for(screen(clinic, MONDAY + timedelta(days=4), N).id) == 250
    reversed_notice = Notification.objects.filter(payload__incentive="reversed").get()
    assert reversed_notice.payload["amount_cents"] == -375
    # Recording the same correction again changes nothing.
    incentives_screen_recorded(screen=wednesday)
    assert IncentiveEntry.objects.filter(kind=EntryKind.REVERSED).count() == 1


def test_prize_draws_escalate_and_each_draw_is_recorded(clinic: Any) -> None:
    bowl = [SlotInput("Good job", 1, 0)]  # a bowl of praise: every draw is recorded, worth 0
    incentive_protocol_create(
        program=clinic["program"],
        actor=clinic["supervisor"],
        data={
            "name": "Prize bowl",
            "behaviour": Behaviour.NEGATIVE_SCREEN,
            "substance": "methamphetamine",
            "schedule": Schedule.PRIZE,
            "start": 1,
            "step": 1,
            "maximum": 3,
            "started_on": MONDAY,
        },
        bowl=bowl,
    )
    for offset in (0, 2, 4, 7):
        screen_record(
            enrollment=clinic["enrollment"],
            actor=clinic["counselor"],
            collected_on=MONDAY + timedelta(days=offset),
            method=ScreenMethod.URINE,
            status=ScreenStatus.COMPLETED,
            results=[ResultInput("methamphetamine", N)],
            observed=True,
        )
    draws = [o.entries.count() for o in IncentiveOutcome.objects.order_by("occurred_on")]
    assert draws == [1, 2, 3, 3]
    assert set(IncentiveEntry.objects.values_list("kind", "label")) == {
        (EntryKind.DRAWN, "Good job")
    }


def test_attendance_earns_once_and_a_correction_to_absent_reverses(clinic: Any) -> None:
    cocaine_vouchers(clinic, behaviour=Behaviour.SESSION_ATTENDANCE, substance="")
    session = SessionFactory(
        program=clinic["program"],
        starts_at=datetime(2026, 6, 2, 22, 0, tzinfo=UTC),
        ends_at=datetime(2026, 6, 3, 1, 0, tzinfo=UTC),
        facilitator=clinic["counselor"],
    )
    session.patients.add(clinic["enrollment"])
    for status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE):
        attendance_record(
            session=session,
            enrollment=clinic["enrollment"],
            status=status,
            actor=clinic["counselor"],
        )
    assert balance_of(clinic["enrollment"]) == 250
    outcome = IncentiveOutcome.objects.get()
    assert outcome.occurred_on == date(2026, 6, 2)  # 18:00 in New York, not UTC's 3 June
    attendance_record(
        session=session,
        enrollment=clinic["enrollment"],
        status=AttendanceStatus.ABSENT,
        actor=clinic["counselor"],
    )
    assert balance_of(clinic["enrollment"]) == 0
    assert IncentiveEntry.objects.filter(kind=EntryKind.REVERSED).count() == 1


def _at_once(write: Any) -> None:
    """Run `write` in two threads released together; each closes its own connection."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            barrier.wait()
            write()
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def _clinic_committed() -> dict[str, Any]:
    program = ProgramFactory()
    counselor = CounselorFactory(program=program)
    clinic = {
        "program": program,
        "supervisor": SupervisorFactory(program=program),
        "counselor": counselor,
        "enrollment": EnrollmentFactory(program=program, primary_counselor=counselor),
    }
    return clinic


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_writes_of_the_same_screen_earn_once() -> None:
    with time_machine.travel(datetime(2026, 9, 1, 16, 0, tzinfo=UTC), tick=False):
        clinic = _clinic_committed()
        cocaine_vouchers(clinic)
        recorded = screen(clinic, MONDAY, N)
    _at_once(lambda: incentives_screen_recorded(screen=recorded))
    assert IncentiveOutcome.objects.count() == 1
    assert list(IncentiveEntry.objects.values_list("amount_cents", flat=True)) == [250]


@pytest.mark.django_db(transaction=True)
def test_two_staff_marking_the_same_attendance_at_once_earn_once() -> None:
    with time_machine.travel(datetime(2026, 9, 1, 16, 0, tzinfo=UTC), tick=False):
        clinic = _clinic_committed()
        cocaine_vouchers(clinic, behaviour=Behaviour.SESSION_ATTENDANCE, substance="")
        session = SessionFactory(
            program=clinic["program"],
            starts_at=datetime(2026, 8, 4, 22, 0, tzinfo=UTC),
            ends_at=datetime(2026, 8, 5, 1, 0, tzinfo=UTC),
        )
        session.patients.add(clinic["enrollment"])
    _at_once(
        lambda: attendance_record(
            session=session,
            enrollment=clinic["enrollment"],
            status=AttendanceStatus.PRESENT,
            actor=clinic["counselor"],
        )
    )
    assert IncentiveOutcome.objects.count() == 1
    assert list(IncentiveEntry.objects.values_list("amount_cents", flat=True)) == [250]
    earned = Notification.objects.filter(kind=NotificationKind.INCENTIVE)
    assert earned.count() == 1


def test_a_checkin_streak_earns_every_third_day_and_a_gap_resets(clinic: Any) -> None:
    cocaine_vouchers(
        clinic,
        behaviour=Behaviour.CHECKIN_STREAK,
        substance="",
        streak_days=3,
        start=100,
        step=50,
        maximum=300,
        return_after=0,
    )
    skipped = {7}
    for day in range(1, 11):
        if day in skipped:
            continue
        evening = datetime(2026, 6, day, 23, 0, tzinfo=UTC)  # 19:00 in New York
        with time_machine.travel(evening, tick=False):
            body = checkin_body(device_time=evening.isoformat())
            patient = client_for(clinic["enrollment"].patient)
            assert patient.post("/api/v1/checkins/", body, format="json").status_code == 201
    outcomes = list(
        IncentiveOutcome.objects.values_list("occurred_on__day", "result", "value_cents")
    )
    assert outcomes == [
        (3, "success", 100),
        (6, "success", 150),
        (8, "miss", 0),  # the first check-in after a day without one
        (10, "success", 100),  # three days in a row again, back at the start
    ]


def test_the_ledger_refuses_to_be_rewritten(clinic: Any) -> None:
    cocaine_vouchers(clinic)
    screen(clinic, MONDAY, N)
    with pytest.raises(PermissionError):
        IncentiveEntry.objects.update(amount_cents=10_000)
    with pytest.raises(PermissionError):
        IncentiveEntry.objects.all().delete()
    assert list(IncentiveEntry.objects.values_list("amount_cents", flat=True)) == [250]


def test_a_correction_reverses_even_after_the_protocol_ended(clinic: Any) -> None:
    protocol = cocaine_vouchers(clinic)
    monday = screen(clinic, MONDAY, N)
    incentive_protocol_end(protocol=protocol, actor=clinic["supervisor"])
    screen_correct(
        screen=monday,
        actor=clinic["counselor"],
        status=ScreenStatus.COMPLETED,
        results=[ResultInput("cocaine", P)],
        observed=True,
    )
    assert balance_of(clinic["enrollment"]) == 0
    assert earned_for(screen(clinic, MONDAY + timedelta(days=2), N).id) == 0  # ended


def test_the_questionnaire_hook_earns_once_per_assignment(clinic: Any) -> None:
    cocaine_vouchers(clinic, behaviour=Behaviour.QUESTIONNAIRE_COMPLETED, substance="")
    for assignment_id in (17, 17, 18):
        incentives_questionnaire_completed(
            enrollment=clinic["enrollment"], assignment_id=assignment_id, completed_on=MONDAY
        )
    assert list(IncentiveEntry.objects.values_list("amount_cents", flat=True)) == [250, 375]


def test_the_push_of_a_reward_names_no_behaviour_or_amount(clinic: Any) -> None:
    DeviceFactory(user=clinic["enrollment"].patient)
    cocaine_vouchers(clinic)
    screen(clinic, MONDAY, N)
    dispatch_due()
    (message,) = memory.outbox
    assert (message.title, message.body) == ("Good news", "You have an update in the app.")
    assert set(message.data()) == {"notification_id"}
    inbox = Notification.objects.get(kind=NotificationKind.INCENTIVE)
    assert inbox.payload["amount_cents"] == 250  # over the authenticated API only


def test_the_yearly_cap_starts_afresh_on_the_first_of_january(time_machine: Any) -> None:
    time_machine.move_to(datetime(2027, 1, 2, 16, 0, tzinfo=UTC), tick=False)
    program = ProgramFactory()
    enrollment = EnrollmentFactory(program=program, start_date=date(2026, 12, 1))
    clinic = {
        "program": program,
        "supervisor": SupervisorFactory(program=program),
        "counselor": enrollment.primary_counselor,
        "enrollment": enrollment,
    }
    cocaine_vouchers(clinic, started_on=date(2026, 12, 1))
    incentive_settings_update(
        program=program,
        actor=clinic["supervisor"],
        patient_year_cap_cents=300,
        year_budget_cents=None,
    )
    paid = [earned_for(screen(clinic, day, N).id) for day in (date(2026, 12, 30), date(2027, 1, 1))]
    assert paid == [250, 300]  # $3.75 wanted on 1 January; that year's cap is $3.00
    assert balance_of(enrollment) == 550


def test_an_assigned_questionnaire_completed_in_its_window_earns_once(clinic: Any) -> None:
    from recovery.services.questionnaire_schedules import questionnaire_assign
    from tests.recovery.test_services_questionnaires import phq9, submit

    cocaine_vouchers(clinic, behaviour=Behaviour.QUESTIONNAIRE_COMPLETED, substance="")
    enrollment = clinic["enrollment"]
    submit(enrollment, "phq9", phq9(4))  # not assigned: earns nothing
    assert IncentiveEntry.objects.count() == 0
    questionnaire_assign(enrollment=enrollment, instrument="phq9")
    submit(enrollment, "phq9", phq9(3))
    assert list(IncentiveEntry.objects.values_list("amount_cents", flat=True)) == [250]
    submit(enrollment, "phq9", phq9(2))  # the assignment is done: nothing more
    assert IncentiveEntry.objects.count() == 1


def test_a_spanish_patient_reads_the_reward_in_spanish(clinic: Any) -> None:
    clinic["enrollment"].language = "es"
    clinic["enrollment"].save()
    cocaine_vouchers(clinic)
    screen(clinic, MONDAY, N)
    inbox = Notification.objects.get(kind=NotificationKind.INCENTIVE)
    assert (inbox.title, inbox.body) == ("Recompensa ganada", "Ganaste $2.50. ¡Sigue así!")
