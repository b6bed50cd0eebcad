"""A patient's history for staff: the timeline, merged newest first and paged by cursor,
and attendance hours."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from recovery.models import (
    Attendance,
    CheckIn,
    Enrollment,
    Exercise,
    ExercisePractice,
    Flag,
    FlagKind,
    Severity,
    UrgeEvent,
    User,
)
from tests.conftest import client_for
from tests.factories import (
    SessionFactory,
    SupervisorFactory,
)

pytestmark = pytest.mark.django_db


# --- timeline -------------------------------------------------------------------------


@pytest.fixture
def history_of(enrollment: Enrollment, counselor: User) -> dict[str, Any]:
    now = timezone.now().replace(microsecond=0)
    at = {name: now - timedelta(hours=hours) for name, hours in
          (("flag", 1), ("urge", 2), ("practice", 3), ("checkin", 4), ("session", 30))}  # fmt: skip
    CheckIn.objects.create(
        enrollment=enrollment,
        client_id=uuid.uuid4(),
        mood=2,
        craving=6,
        used_substance=False,
        device_time=at["checkin"],
        device_timezone="America/New_York",
        received_at=now,
        payload_hash="x",
    )
    ExercisePractice.objects.create(
        enrollment=enrollment,
        exercise=Exercise.objects.filter(program__isnull=True).first(),
        craving_before=7,
        craving_after=3,
        helpfulness=4,
        practiced_at=at["practice"],
    )
    UrgeEvent.objects.create(enrollment=enrollment, intensity=6, occurred_at=at["urge"])
    session = SessionFactory(
        program=enrollment.program,
        starts_at=at["session"],
        ends_at=at["session"] + timedelta(hours=3),
    )
    session.patients.set([enrollment])
    Attendance.objects.create(
        session=session,
        enrollment=enrollment,
        status="late",
        minutes_attended=150,
        recorded_by=counselor,
        recorded_at=now,
    )
    Flag.objects.create(
        enrollment=enrollment,
        kind=FlagKind.URGE,
        severity=Severity.WARNING,
        window_key="today",
        created_at=at["flag"],
    )
    return at


def test_the_timeline_merges_everything_newest_first(
    counselor_client: APIClient, enrollment: Enrollment, history_of: dict[str, Any]
) -> None:
    body = counselor_client.get(f"/api/v1/patients/{enrollment.id}/timeline/").json()
    assert [i["type"] for i in body["results"]] == [
        "flag",
        "urge",
        "exercise_practice",
        "checkin",
        "attendance",
    ]
    assert body["next_before"] is None
    attendance = body["results"][-1]["data"]
    assert attendance == {
        "session": "Process group",
        "kind": "group_therapy",
        "status": "late",
        "minutes_attended": 150,
    }


def _walk(client: APIClient, url: str, limit: int) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    params: dict[str, Any] = {"limit": limit}
    for _ in range(20):
        page = client.get(url, params).json()
        seen += [(i["type"], i["id"]) for i in page["results"]]
        if page["next_cursor"] is None:
            return seen
        params = {"limit": limit, "cursor": page["next_cursor"]}
    raise AssertionError("the timeline did not end")


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_the_timeline_pages_with_the_cursor(
    counselor_client: APIClient, enrollment: Enrollment, history_of: dict[str, Any], limit: int
) -> None:
    url = f"/api/v1/patients/{enrollment.id}/timeline/"
    seen = _walk(counselor_client, url, limit)
    assert [t for t, _ in seen] == ["flag", "urge", "exercise_practice", "checkin", "attendance"]


def test_paging_skips_nothing_when_items_share_an_instant(
    counselor_client: APIClient, enrollment: Enrollment
) -> None:
    """The urge button stores the urge and raises its flag at the same instant."""
    patient = client_for(enrollment.patient)
    for _ in range(3):
        assert patient.post("/api/v1/urges/", {}, format="json").status_code == 201
    url = f"/api/v1/patients/{enrollment.id}/timeline/"
    everything = _walk(counselor_client, url, 50)
    assert sorted(t for t, _ in everything) == ["flag", "urge", "urge", "urge"]
    for limit in (1, 2, 3):
        assert _walk(counselor_client, url, limit) == everything


def test_before_starts_the_timeline_at_an_instant(
    counselor_client: APIClient, enrollment: Enrollment, history_of: dict[str, Any]
) -> None:
    url = f"/api/v1/patients/{enrollment.id}/timeline/"
    body = counselor_client.get(url, {"before": history_of["practice"].isoformat()}).json()
    assert [i["type"] for i in body["results"]] == ["checkin", "attendance"]
    assert body["next_cursor"] is None


def test_a_made_up_cursor_is_refused(counselor_client: APIClient, enrollment: Enrollment) -> None:
    url = f"/api/v1/patients/{enrollment.id}/timeline/"
    for cursor in (
        "yesterday",
        "2026-01-01T00:00:00Z|gossip|1",
        "2026-01-01T00:00:00|flag|1",
        "2026-02-30T10:00:00Z|flag|1",
        "2026-01-01T00:00:00Z|flag|one",
    ):
        response = counselor_client.get(url, {"cursor": cursor})
        assert response.status_code == 400
        assert "cursor" in response.json()["error"]["fields"]


# --- attendance hours -----------------------------------------------------------------


def test_attendance_summary_for_the_patient_and_for_staff(
    enrollment: Enrollment, counselor_client: APIClient, history_of: dict[str, Any]
) -> None:
    mine = client_for(enrollment.patient).get("/api/v1/attendance/summary/").json()
    staff = counselor_client.get("/api/v1/attendance/summary/", {"patient": enrollment.id}).json()
    assert mine == staff
    assert mine["counts"] == {"present": 0, "late": 1, "left_early": 0, "absent": 0, "excused": 0}
    assert len(mine["weeks"]) == 12
    assert sum(w["hours_attended"] for w in mine["weeks"]) == 2.5
    assert all(w["required_hours"] == 9.0 for w in mine["weeks"])
    assert not any(w["met"] for w in mine["weeks"])


def test_attendance_summary_needs_a_patient_for_staff(counselor_client: APIClient) -> None:
    response = counselor_client.get("/api/v1/attendance/summary/")
    assert response.status_code == 400
    assert "patient" in response.json()["error"]["fields"]


def test_supervisor_reads_any_patient_of_the_program(enrollment: Enrollment) -> None:
    supervisor = client_for(SupervisorFactory(program=enrollment.program))
    assert supervisor.get(f"/api/v1/patients/{enrollment.id}/").status_code == 200
    assert [p["id"] for p in supervisor.get("/api/v1/patients/").json()["results"]] == [
        enrollment.id
    ]
