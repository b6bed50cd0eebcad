"""Staff views of patients: enrolling, the care path and its history, discharge, codes,
schedules, the timeline and attendance hours."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from recovery.models import (
    Attendance,
    CheckIn,
    CheckInSchedule,
    Enrollment,
    EnrollmentChange,
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
    CounselorFactory,
    EnrollmentFactory,
    ScheduleFactory,
    SessionFactory,
    SupervisorFactory,
)

pytestmark = pytest.mark.django_db


# --- enrolling ------------------------------------------------------------------------


def test_enrolling_puts_the_patient_on_the_caseload_with_their_team(
    counselor_client: APIClient, counselor: User
) -> None:
    colleague = CounselorFactory(program=counselor.program)
    response = counselor_client.post(
        "/api/v1/patients/",
        {
            "first_name": "Alex",
            "last_name": "Rivera",
            "timezone": "America/Chicago",
            "level_of_care": "2.5",
            "has_medication": True,
            "care_team": [colleague.id, counselor.id],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    patient = body["patient"]
    assert len(body["enrollment_code"]) == 11  # XXXXX-XXXXX
    assert patient["first_name"] == "Alex"
    assert patient["primary_counselor"] == counselor.id
    assert patient["care_team"] == sorted([counselor.id, colleague.id])
    assert patient["level_of_care"] == "2.5"
    assert patient["stage"] == "engagement"
    assert patient["status"] == "active"
    assert patient["timezone"] == "America/Chicago"
    assert date.fromisoformat(patient["expected_end_date"]) > date.fromisoformat(
        patient["start_date"]
    )
    # It is on both team members' caseloads, with a default check-in schedule.
    for client in (counselor_client, client_for(colleague)):
        listed = client.get("/api/v1/patients/").json()["results"]
        assert [p["id"] for p in listed] == [patient["id"]]
    schedule = counselor_client.get(f"/api/v1/patients/{patient['id']}/checkin-schedule/")
    assert schedule.status_code == 200
    assert schedule.json()["days_of_week"] == [1, 2, 3, 4, 5, 6, 7]
    history = counselor_client.get(f"/api/v1/patients/{patient['id']}/history/").json()
    assert {(h["field"], h["new_value"], h["reason"]) for h in history["results"]} == {
        ("stage", "engagement", "enrolled"),
        ("level_of_care", "2.5", "enrolled"),
    }


def test_a_care_team_from_another_program_is_refused(
    counselor_client: APIClient, counselor: User
) -> None:
    stranger = CounselorFactory()  # another program
    before = Enrollment.objects.count()
    response = counselor_client.post(
        "/api/v1/patients/", {"first_name": "Jo", "care_team": [stranger.id]}, format="json"
    )
    assert response.status_code == 400
    assert "care_team" in response.json()["error"]["fields"]
    assert Enrollment.objects.count() == before
    assert not User.objects.filter(first_name="Jo", role="patient").exists()


def test_the_list_filters_by_status_and_sorts_by_last_name(
    counselor_client: APIClient, counselor: User
) -> None:
    program = counselor.program
    zed = EnrollmentFactory(program=program, primary_counselor=counselor, patient__last_name="Zed")
    abe = EnrollmentFactory(program=program, primary_counselor=counselor, patient__last_name="Abe")
    gone = EnrollmentFactory(
        program=program, primary_counselor=counselor, patient__last_name="Moe", status="discharged"
    )
    everyone = counselor_client.get("/api/v1/patients/").json()["results"]
    assert [p["id"] for p in everyone] == [abe.id, gone.id, zed.id]
    active = counselor_client.get("/api/v1/patients/", {"status": "active"}).json()["results"]
    assert [p["id"] for p in active] == [abe.id, zed.id]
    discharged = counselor_client.get("/api/v1/patients/", {"status": "discharged"}).json()
    assert [p["id"] for p in discharged["results"]] == [gone.id]


def test_patch_changes_only_the_editable_fields(
    counselor_client: APIClient, enrollment: Enrollment
) -> None:
    end = (enrollment.start_date + timedelta(weeks=16)).isoformat()
    response = counselor_client.patch(
        f"/api/v1/patients/{enrollment.id}/",
        {"has_medication": True, "timezone": "America/Denver", "expected_end_date": end},
        format="json",
    )
    assert response.status_code == 200, response.content
    enrollment.refresh_from_db()
    assert enrollment.has_medication is True
    assert enrollment.timezone == "America/Denver"
    assert enrollment.expected_end_date.isoformat() == end


# --- stage and level of care ----------------------------------------------------------


def test_changing_stage_and_level_records_history(
    counselor_client: APIClient, enrollment: Enrollment, counselor: User
) -> None:
    url = f"/api/v1/patients/{enrollment.id}/change/"
    stepped = counselor_client.post(
        url, {"stage": "early_recovery", "level_of_care": "1", "reason": "stable"}, format="json"
    )
    assert stepped.status_code == 200, stepped.content
    assert stepped.json()["stage"] == "early_recovery"
    assert stepped.json()["level_of_care"] == "1"
    # The same values again change nothing and record nothing.
    assert counselor_client.post(url, {"stage": "early_recovery"}, format="json").status_code == 200
    back_up = counselor_client.post(url, {"level_of_care": "2.1"}, format="json")
    assert back_up.json()["level_of_care"] == "2.1"

    history = counselor_client.get(f"/api/v1/patients/{enrollment.id}/history/").json()["results"]
    assert [(h["field"], h["old_value"], h["new_value"]) for h in history] == [
        ("stage", "engagement", "early_recovery"),
        ("level_of_care", "2.1", "1"),
        ("level_of_care", "1", "2.1"),
    ]
    assert history[0]["reason"] == "stable"
    assert {h["changed_by"] for h in history} == {counselor.id}


def test_a_level_the_program_does_not_offer_is_refused(
    counselor_client: APIClient, enrollment: Enrollment
) -> None:
    response = counselor_client.post(
        f"/api/v1/patients/{enrollment.id}/change/", {"level_of_care": "4"}, format="json"
    )
    assert response.status_code == 400
    assert "level_of_care" in response.json()["error"]["fields"]
    enrollment.refresh_from_db()
    assert enrollment.level_of_care == "2.1"
    assert not EnrollmentChange.objects.filter(enrollment=enrollment).exists()


def test_an_enrollment_with_several_problems_names_them_all_in_one_answer(
    counselor_client: APIClient,
) -> None:
    response = counselor_client.post(
        "/api/v1/patients/",
        {
            "first_name": "",  # the field's own rule
            "timezone": "Mars/Olympus",  # the field's own rule
            "level_of_care": "4",  # the service's rule: a level the program offers
            "start_date": "2026-03-01",
            "expected_end_date": "2026-02-01",  # the service's rule: after the start
            "care_team": [999_999],  # not a staff member of the program
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {
        "first_name",
        "timezone",
        "level_of_care",
        "expected_end_date",
        "care_team",
    }
    assert not Enrollment.objects.exists()


def test_enrolling_without_a_start_checks_the_end_against_the_patients_today(
    counselor: User, time_machine: Any
) -> None:
    # 22:30 on 9 March in Los Angeles; already 10 March in New York (the program) and UTC.
    time_machine.move_to(datetime(2026, 3, 10, 5, 30, tzinfo=UTC), tick=False)
    counselor_client = client_for(counselor)

    def fields(**body: Any) -> set[str]:
        response = counselor_client.post(
            "/api/v1/patients/", {"first_name": "", **body}, format="json"
        )
        assert response.status_code == 400
        return set(response.json()["error"]["fields"])

    la = "America/Los_Angeles"
    assert fields(timezone=la, expected_end_date="2026-03-09") == {
        "first_name",
        "expected_end_date",
    }
    assert fields(timezone=la, expected_end_date="2026-03-10") == {"first_name"}
    assert fields(expected_end_date="2026-03-10") == {"first_name", "expected_end_date"}
    assert not Enrollment.objects.exists()


def test_a_change_with_several_problems_names_them_all_in_one_answer(
    counselor_client: APIClient, enrollment: Enrollment
) -> None:
    response = counselor_client.post(
        f"/api/v1/patients/{enrollment.id}/change/",
        {"stage": "nirvana", "level_of_care": "4"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"stage", "level_of_care"}


# --- discharge and codes --------------------------------------------------------------


def test_discharge_ends_the_schedule_and_leaves_the_caseload(
    counselor_client: APIClient, enrollment: Enrollment
) -> None:
    ScheduleFactory(enrollment=enrollment, next_due_at=timezone.now() + timedelta(hours=3))
    response = counselor_client.post(
        f"/api/v1/patients/{enrollment.id}/discharge/", {"reason": "completed"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "discharged"
    assert response.json()["discharged_at"] is not None
    assert CheckInSchedule.objects.get(enrollment=enrollment).next_due_at is None
    history = counselor_client.get(f"/api/v1/patients/{enrollment.id}/history/").json()["results"]
    assert [(h["field"], h["old_value"], h["new_value"], h["reason"]) for h in history] == [
        ("status", "active", "discharged", "completed")
    ]
    assert counselor_client.get("/api/v1/dashboard/caseload/").json() == []
    # Still readable by the team; no second discharge, no new code.
    assert counselor_client.get(f"/api/v1/patients/{enrollment.id}/").status_code == 200
    again = counselor_client.post(f"/api/v1/patients/{enrollment.id}/discharge/", {}, format="json")
    assert again.status_code == 400
    code = counselor_client.post(f"/api/v1/patients/{enrollment.id}/enrollment-code/")
    assert code.status_code == 400


def test_a_new_code_signs_the_patient_in(
    counselor_client: APIClient, enrollment: Enrollment
) -> None:
    issued = counselor_client.post(f"/api/v1/patients/{enrollment.id}/enrollment-code/")
    assert issued.status_code == 201
    redeemed = APIClient().post(
        "/api/v1/auth/enrollment-code/", {"code": issued.json()["enrollment_code"]}, format="json"
    )
    assert redeemed.status_code == 201
    assert redeemed.json()["username"] == enrollment.patient.username


def test_me_names_the_patients_enrollment(enrollment: Enrollment) -> None:
    me = client_for(enrollment.patient).get("/api/v1/me/").json()
    assert me["role"] == "patient"
    assert me["patient"] == enrollment.id
    assert me["program"] == enrollment.program_id


# --- schedule (staff side) ------------------------------------------------------------


def test_staff_set_the_patients_schedule(
    counselor_client: APIClient, enrollment: Enrollment
) -> None:
    url = f"/api/v1/patients/{enrollment.id}/checkin-schedule/"
    assert counselor_client.get(url).status_code == 404
    body = {"opens_at": "07:00", "due_by": "10:00", "days_of_week": [5, 1, 1], "grace_minutes": 30}
    response = counselor_client.put(url, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["days_of_week"] == [1, 5]
    assert response.json()["next_due_at"] is not None
    assert counselor_client.get(url).json()["opens_at"] == "07:00:00"


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
