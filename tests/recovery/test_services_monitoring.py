"""Peer support, drug screens and medications: validation, flags, adherence from the
check-in, the missed-dose sweep and medication reminders."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from backend.errors import ServiceError
from notifications.models import Notification, NotificationState
from recovery.models import (
    CheckIn,
    DrugScreen,
    Flag,
    FlagKind,
    Medication,
    MutualHelpMeeting,
    ProgramMonitoringSettings,
    ScreenOutcome,
    Severity,
)
from recovery.notification_kinds import NotificationKind
from recovery.selectors.monitoring import medication_adherence, meetings_weekly
from recovery.services import medications, screens
from recovery.services import monitoring as services
from recovery.services.screens import ResultInput
from tests.factories import CounselorFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 3, 16, 0, tzinfo=UTC)  # Wednesday, noon in New York
TODAY = date(2026, 6, 3)


@pytest.fixture
def clock(time_machine: Any) -> Any:
    time_machine.move_to(NOON, tick=False)
    return time_machine


@pytest.fixture
def patient(clock: Any, program: Any, counselor: Any) -> Any:
    return EnrollmentFactory(
        program=program, primary_counselor=counselor, start_date=date(2026, 5, 4)
    )


def evening(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 0, tzinfo=UTC)  # 19:00 in New York


def checkin(enrollment: Any, day: date, *, taken: bool | None) -> None:
    CheckIn.objects.create(
        enrollment=enrollment,
        client_id=uuid.uuid4(),
        mood=3,
        craving=2,
        used_substance=False,
        medication_taken=taken,
        device_time=evening(day),
        device_timezone="America/New_York",
        received_at=evening(day),
        payload_hash="x",
    )


def screen(patient: Any, counselor: Any, **overrides: Any) -> screens.ScreenRecorded:
    arguments: dict[str, Any] = {
        "enrollment": patient,
        "actor": counselor,
        "collected_on": TODAY,
        "method": "urine",
        "status": "completed",
        "observed": True,
        "results": [ResultInput("opiates", "negative"), ResultInput("cocaine", "negative")],
    }
    arguments.update(overrides)
    return screens.screen_record(**arguments)


# --- mutual-help meetings ---------------------------------------------------------------


def test_meetings_are_logged_and_counted_by_week(patient):
    for day, fmt in (
        (date(2026, 6, 1), "in_person"),
        (date(2026, 6, 2), "online"),
        (date(2026, 5, 28), "in_person"),
    ):
        services.meeting_log(
            enrollment=patient, fellowship="na", meeting_format=fmt, attended_on=day
        )
    weeks = meetings_weekly(enrollment=patient, weeks=3)
    assert weeks == [
        {"week_start": date(2026, 6, 1), "meetings": 2, "online": 1},
        {"week_start": date(2026, 5, 25), "meetings": 1, "online": 0},
        {"week_start": date(2026, 5, 18), "meetings": 0, "online": 0},
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"attended_on": date(2026, 6, 4)}, "attended_on"),
        ({"attended_on": date(2026, 3, 1)}, "attended_on"),
        ({"fellowship": "other"}, "fellowship_other"),
        ({"fellowship_other": "Celebrate Recovery"}, "fellowship_other"),
    ],
)
def test_a_bad_meeting_is_refused(patient, overrides, field):
    arguments: dict[str, Any] = {
        "enrollment": patient,
        "fellowship": "aa",
        "meeting_format": "online",
        "attended_on": TODAY,
    }
    arguments.update(overrides)
    with pytest.raises(ServiceError) as refused:
        services.meeting_log(**arguments)
    assert field in refused.value.fields
    assert not MutualHelpMeeting.objects.exists()


# --- drug screens -----------------------------------------------------------------------


def test_a_negative_screen_raises_nothing(patient, counselor):
    recorded = screen(patient, counselor)
    assert recorded.screen.outcome == ScreenOutcome.NEGATIVE
    assert recorded.flags == []
    assert recorded.screen.results.count() == 2


def test_a_positive_screen_flags_and_tells_the_care_team(patient, counselor):
    colleague = CounselorFactory(program=patient.program)
    patient.members.create(counselor=colleague)
    recorded = screen(
        patient,
        counselor,
        results=[ResultInput("fentanyl", "positive"), ResultInput("cocaine", "negative")],
    )
    assert recorded.screen.outcome == ScreenOutcome.POSITIVE
    (flag,) = recorded.flags
    assert flag.kind == FlagKind.POSITIVE_SCREEN
    assert flag.severity == Severity.URGENT
    assert flag.window_key == f"screen:{recorded.screen.id}"
    told = set(
        Notification.objects.filter(kind=NotificationKind.FLAG_RAISED).values_list(
            "recipient_id", flat=True
        )
    )
    assert told == {counselor.id, colleague.id}


@pytest.mark.parametrize("status", ["missed", "refused"])
def test_a_missed_or_refused_screen_flags(patient, counselor, status):
    recorded = screen(patient, counselor, status=status, observed=None, results=[])
    assert recorded.screen.outcome == status
    assert [f.kind for f in recorded.flags] == [FlagKind.MISSED_SCREEN]


def test_a_positive_for_a_prescribed_medication_is_expected(patient, counselor):
    recorded = screen(
        patient,
        counselor,
        results=[
            ResultInput("buprenorphine", "positive", True),
            ResultInput("opiates", "negative"),
        ],
    )
    assert recorded.screen.outcome == ScreenOutcome.EXPECTED_POSITIVE
    assert recorded.flags == []


def test_an_inconclusive_screen_raises_nothing(patient, counselor):
    recorded = screen(patient, counselor, results=[ResultInput("alcohol", "inconclusive")])
    assert recorded.screen.outcome == ScreenOutcome.INCONCLUSIVE
    assert not Flag.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"results": []}, "results"),
        ({"results": [ResultInput("opiates", "negative")] * 2}, "results"),
        ({"results": [ResultInput("opiates", "negative", True)]}, "results"),
        ({"observed": None}, "observed"),
        ({"status": "missed", "observed": None}, "results"),
        ({"status": "refused", "results": []}, "observed"),
        ({"collected_on": date(2026, 6, 4)}, "collected_on"),
    ],
)
def test_a_bad_screen_saves_nothing_and_flags_nothing(patient, counselor, overrides, field):
    with pytest.raises(ServiceError) as refused:
        screen(patient, counselor, **overrides)
    assert field in refused.value.fields
    assert not DrugScreen.objects.exists()
    assert not Flag.objects.exists()


# --- medications and adherence ----------------------------------------------------------


def test_adding_a_medication_infers_its_class_and_asks_about_it_in_check_ins(patient, counselor):
    assert patient.has_medication is False
    medication = medications.medication_add(
        enrollment=patient,
        actor=counselor,
        name="Buprenorphine",
        dose="8 mg daily",
        start_date=date(2026, 5, 10),
    )
    assert medication.category == "moud"
    patient.refresh_from_db()
    assert patient.has_medication is True
    medications.medication_update(medication=medication, actor=counselor, data={"end_date": TODAY})
    patient.refresh_from_db()
    assert patient.has_medication is True  # still taken today
    medications.medication_update(
        medication=medication, actor=counselor, data={"end_date": date(2026, 6, 1)}
    )
    patient.refresh_from_db()
    assert patient.has_medication is False


def test_a_medication_ending_before_it_starts_is_refused(patient, counselor):
    with pytest.raises(ServiceError) as refused:
        medications.medication_add(
            enrollment=patient,
            actor=counselor,
            name="Naltrexone",
            start_date=TODAY,
            end_date=date(2026, 6, 1),
        )
    assert "end_date" in refused.value.fields
    assert not Medication.objects.exists()


def test_the_patient_may_only_set_their_reminder(patient, counselor):
    medication = medications.medication_add(
        enrollment=patient, actor=counselor, name="Acamprosate", start_date=TODAY
    )
    with pytest.raises(ServiceError) as refused:
        medications.medication_update(
            medication=medication, actor=patient.patient, data={"dose": "a lot"}
        )
    assert "dose" in refused.value.fields
    medications.medication_update(
        medication=medication, actor=patient.patient, data={"reminder_time": time(20, 0)}
    )
    medication.refresh_from_db()
    assert medication.reminder_time == time(20, 0)


def test_adherence_comes_from_the_check_in(patient, counselor):
    medications.medication_add(
        enrollment=patient, actor=counselor, name="Methadone", start_date=date(2026, 5, 27)
    )
    # 27 May to 2 June: taken, taken, missed, no check-in, taken, said nothing, missed.
    answers = [True, True, False, "none", True, None, False]
    for n, answer in enumerate(answers):
        if answer != "none":
            checkin(patient, date(2026, 5, 27) + timedelta(days=n), taken=answer)
    summary = medication_adherence(enrollment=patient, days=28)
    assert summary["days_on_medication"] == 7  # today is pending until the check-in
    assert (summary["taken"], summary["missed"], summary["unreported"]) == (3, 2, 2)
    assert summary["adherence"] == round(3 / 7, 3)
    assert summary["reported_adherence"] == 0.6
    assert summary["days"][0] == {"date": TODAY, "status": "pending"}


# --- the missed-dose sweep --------------------------------------------------------------


def test_missed_doses_flag_once_at_the_programs_threshold(patient, counselor, clock):
    ProgramMonitoringSettings.objects.create(program=patient.program, missed_dose_days=3)
    medications.medication_add(
        enrollment=patient, actor=counselor, name="Naltrexone", start_date=date(2026, 5, 20)
    )
    checkin(patient, date(2026, 5, 31), taken=True)
    checkin(patient, date(2026, 6, 1), taken=False)
    checkin(patient, date(2026, 6, 2), taken=False)
    assert medications.medication_adherence_sweep().flags == 0  # two in a row; today pending
    checkin(patient, TODAY, taken=False)
    report = medications.medication_adherence_sweep()
    assert report.flags == 1
    flag = Flag.objects.get(kind=FlagKind.MISSED_MEDICATION)
    assert flag.window_key == "doses:2026-06-01"
    clock.move_to(NOON + timedelta(days=1), tick=False)
    checkin(patient, date(2026, 6, 4), taken=False)
    assert medications.medication_adherence_sweep().flags == 0  # the same run
    checkin(patient, date(2026, 6, 5), taken=True)
    for day in (6, 7, 8):
        checkin(patient, date(2026, 6, day), taken=False)
    clock.move_to(NOON + timedelta(days=5), tick=False)
    assert medications.medication_adherence_sweep().flags == 1  # a new run
    assert Flag.objects.filter(kind=FlagKind.MISSED_MEDICATION).count() == 2


def test_unreported_days_count_only_when_the_program_says_so(patient, counselor):
    medications.medication_add(
        enrollment=patient, actor=counselor, name="Disulfiram", start_date=date(2026, 5, 20)
    )
    checkin(patient, date(2026, 5, 31), taken=True)  # then nothing on 1 and 2 June
    assert medications.medication_adherence_sweep().flags == 0
    ProgramMonitoringSettings.objects.create(
        program=patient.program, unreported_dose_counts_as_missed=True
    )
    assert medications.medication_adherence_sweep().flags == 1


def test_days_off_medication_are_not_missed_doses(patient, counselor):
    medications.medication_add(
        enrollment=patient,
        actor=counselor,
        name="Naltrexone",
        start_date=date(2026, 5, 1),
        end_date=date(2026, 5, 25),
    )
    for day in (26, 27, 28, 29):
        checkin(patient, date(2026, 5, day), taken=False)
    assert medications.medication_adherence_sweep().flags == 0


# --- reminders --------------------------------------------------------------------------


def test_reminders_are_queued_ahead_at_local_time_and_follow_changes(patient, counselor):
    medication = medications.medication_add(
        enrollment=patient,
        actor=counselor,
        name="Buprenorphine",
        start_date=TODAY,
        reminder_time=time(8, 0),
    )
    pending = Notification.objects.filter(state=NotificationState.PENDING).order_by("due_at")
    # 08:00 today has passed at noon: tomorrow's only, at 08:00 New York (EDT).
    assert list(pending.values_list("due_at", flat=True)) == [
        datetime(2026, 6, 4, 12, 0, tzinfo=UTC)
    ]
    reminder = pending.get()
    assert reminder.recipient_id == patient.patient_id
    assert "Buprenorphine" not in reminder.title + reminder.body + str(reminder.payload)
    assert medications.medication_reminders_top_up() == 1
    assert pending.count() == 1  # the same row, not a second one
    medications.medication_update(
        medication=medication, actor=patient.patient, data={"reminder_time": None}
    )
    assert not pending.exists()


def test_reminders_stay_at_local_time_across_daylight_saving(counselor, program, time_machine):
    time_machine.move_to(datetime(2026, 3, 6, 17, 0, tzinfo=UTC), tick=False)  # Friday
    patient = EnrollmentFactory(program=program, primary_counselor=counselor)
    medications.medication_add(
        enrollment=patient,
        actor=counselor,
        name="Acamprosate",
        start_date=date(2026, 3, 6),
        reminder_time=time(21, 0),
    )
    time_machine.move_to(datetime(2026, 3, 8, 17, 0, tzinfo=UTC), tick=False)  # DST began
    medications.medication_reminders_top_up()
    due = list(Notification.objects.order_by("due_at").values_list("due_at", flat=True).distinct())
    assert due == [
        datetime(2026, 3, 7, 2, 0, tzinfo=UTC),  # 6 March 21:00 EST
        datetime(2026, 3, 8, 2, 0, tzinfo=UTC),  # 7 March 21:00 EST
        datetime(2026, 3, 9, 1, 0, tzinfo=UTC),  # 8 March 21:00 EDT
        datetime(2026, 3, 10, 1, 0, tzinfo=UTC),  # 9 March 21:00 EDT
    ]
