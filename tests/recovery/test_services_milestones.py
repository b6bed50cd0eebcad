"""Recovery days in the patient's local days, across both daylight-saving changes and a
zone move; milestones found by the periodic job, once each; a use restarts the count."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
import time_machine

from notifications.models import Notification
from recovery.models import CheckIn, DrugScreen, RecoveryMilestone
from recovery.selectors.recovery_days import milestones_up_to, next_milestone, recovery_count
from recovery.services.milestones import recovery_counter_set, recovery_milestones_detect
from tests.conftest import client_for
from tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db


def _used(enrollment, at: datetime, zone: str = "America/New_York") -> None:
    CheckIn.objects.create(
        enrollment=enrollment,
        client_id=uuid.uuid4(),
        mood=2,
        craving=6,
        used_substance=True,
        device_time=at,
        device_timezone=zone,
        received_at=at,
        payload_hash="x",
    )


@pytest.fixture
def patient(program, counselor):
    return EnrollmentFactory(
        program=program, primary_counselor=counselor, start_date=date(2026, 1, 5)
    )


def _days(enrollment, now: datetime) -> int:
    enrollment.refresh_from_db()
    return recovery_count(enrollment, now=now).days


def test_the_series_is_1_7_30_60_90_then_every_90():
    assert milestones_up_to(400) == [1, 7, 30, 60, 90, 180, 270, 360]
    assert next_milestone(0) == 1
    assert next_milestone(90) == 180


def test_counting_across_spring_forward(patient):
    _used(patient, datetime(2026, 3, 8, 3, 0, tzinfo=UTC))  # Saturday 7 March, 22:00 EST
    assert _days(patient, datetime(2026, 3, 8, 4, 0, tzinfo=UTC)) == 0  # 23:00, same day
    assert _days(patient, datetime(2026, 3, 8, 5, 30, tzinfo=UTC)) == 1  # 00:30 EST, Sunday
    # Sunday was 23 hours long: 23:30 EDT is still day 1, 00:30 EDT Monday is day 2.
    assert _days(patient, datetime(2026, 3, 9, 3, 30, tzinfo=UTC)) == 1
    assert _days(patient, datetime(2026, 3, 9, 4, 30, tzinfo=UTC)) == 2


def test_counting_across_fall_back(patient):
    _used(patient, datetime(2026, 11, 1, 2, 0, tzinfo=UTC))  # Saturday 31 October, 22:00 EDT
    # Sunday 1 November was 25 hours long: 23:30 EST is still day 1.
    assert _days(patient, datetime(2026, 11, 2, 4, 30, tzinfo=UTC)) == 1
    assert _days(patient, datetime(2026, 11, 2, 5, 30, tzinfo=UTC)) == 2  # 00:30 EST Monday


def test_a_zone_move_neither_re_dates_the_use_nor_borrows_the_old_today(patient):
    # 00:30 on Wednesday 11 March in New York, which was still Tuesday in Los Angeles.
    _used(patient, datetime(2026, 3, 11, 4, 30, tzinfo=UTC))
    patient.timezone = "America/Los_Angeles"
    patient.save()
    # Thursday 10:00 in Los Angeles: one day since Wednesday, where the use happened.
    assert _days(patient, datetime(2026, 3, 12, 17, 0, tzinfo=UTC)) == 1
    # 23:00 Wednesday in Los Angeles (already Thursday in New York): today is Wednesday.
    assert _days(patient, datetime(2026, 3, 12, 6, 0, tzinfo=UTC)) == 0


def test_a_positive_screen_is_a_reported_use(patient):
    DrugScreen.objects.create(
        enrollment=patient,
        collected_on=date(2026, 4, 1),
        method="urine",
        status="completed",
        outcome="positive",
        recorded_at=datetime(2026, 4, 1, 15, tzinfo=UTC),
    )
    assert _days(patient, datetime(2026, 4, 8, 15, 0, tzinfo=UTC)) == 7


def _milestones(kind: str = "recovery_milestone") -> list[tuple[int, int]]:
    return sorted(
        (n.recipient_id, n.payload["days"]) for n in Notification.objects.filter(kind=kind)
    )


def test_the_job_announces_each_milestone_once_to_the_patient_and_the_care_team(patient, counselor):
    patient.start_date = date(2026, 6, 1)
    patient.save()
    # 6 June 23:30 EDT: day 6. Then 7 June 00:30 EDT: day 7.
    recovery_milestones_detect(now=datetime(2026, 6, 7, 3, 30, tzinfo=UTC))
    assert set(_milestones()) == {(patient.patient_id, 1), (counselor.id, 1)}
    Notification.objects.all().delete()
    assert recovery_milestones_detect(now=datetime(2026, 6, 7, 4, 30, tzinfo=UTC)) == 1
    assert recovery_milestones_detect(now=datetime(2026, 6, 7, 5, 30, tzinfo=UTC)) == 0
    assert set(_milestones()) == {(patient.patient_id, 7), (counselor.id, 7)}


def test_a_start_date_set_back_announces_only_the_highest_milestone(patient):
    with time_machine.travel(datetime(2026, 6, 10, 15, 0, tzinfo=UTC), tick=False):
        recovery_counter_set(enrollment=patient, start_date=date(2026, 3, 1))
        recovery_milestones_detect()
    assert set(RecoveryMilestone.objects.values_list("days", flat=True)) == {1, 7, 30, 60, 90}
    assert {days for _who, days in _milestones()} == {90}


def test_a_hidden_counter_sends_the_patient_nothing_but_the_team_still_sees(patient, counselor):
    recovery_counter_set(enrollment=patient, hidden=True)
    recovery_milestones_detect(now=datetime(2026, 6, 7, 15, 0, tzinfo=UTC))
    assert {who for who, _days in _milestones()} == {counselor.id}


def test_a_reported_use_restarts_the_count_with_a_supportive_message(patient):
    recovery_milestones_detect(now=datetime(2026, 5, 1, 15, 0, tzinfo=UTC))
    _used(patient, datetime(2026, 5, 2, 1, 0, tzinfo=UTC))  # 1 May, 21:00 EDT
    recovery_milestones_detect(now=datetime(2026, 5, 2, 2, 0, tzinfo=UTC))
    restart = Notification.objects.get(kind="recovery_restart")
    assert restart.recipient_id == patient.patient_id
    assert "starts again" in restart.body
    for word in ("fail", "relapse", "violation"):
        assert word not in restart.body.lower()
    assert _days(patient, datetime(2026, 5, 2, 2, 0, tzinfo=UTC)) == 0
    # The next day is day 1 of the new count, celebrated as such.
    recovery_milestones_detect(now=datetime(2026, 5, 2, 15, 0, tzinfo=UTC))
    assert RecoveryMilestone.objects.filter(streak_start=date(2026, 5, 2), days=1).exists()


def test_the_patient_sets_the_start_date_once_and_may_hide_the_counter(patient, counselor):
    with time_machine.travel(datetime(2026, 6, 10, 15, 0, tzinfo=UTC), tick=True):
        client = client_for(patient.patient)
        assert (
            client.patch(
                "/api/v1/me/recovery/", {"start_date": "2026-07-01"}, format="json"
            ).status_code
            == 400
        )
        first = client.patch("/api/v1/me/recovery/", {"start_date": "2026-06-01"}, format="json")
        assert first.status_code == 200
        assert first.json()["days"] == 10
        again = client.patch("/api/v1/me/recovery/", {"start_date": "2026-05-01"}, format="json")
        assert again.status_code == 422
        hidden = client.patch("/api/v1/me/recovery/", {"hidden": True}, format="json").json()
        assert hidden["days"] is None
        staff = client_for(counselor).get(f"/api/v1/patients/{patient.id}/recovery/").json()
        assert staff["days"] == 10
        assert staff["hidden"] is True
