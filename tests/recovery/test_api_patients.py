"""Staff views of patients: enrolling, the care path and its history, discharge, codes
and schedules. The timeline and attendance hours are in test_api_patients_history.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from recovery.models import (
    CheckInSchedule,
    Enrollment,
    EnrollmentChange,
    User,
)
from tests.conftest import client_for
from tests.factories import (
    CounselorFactory,
    EnrollmentFactory,
    ScheduleFactory,
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


def test_readmit_brings_a_discharged_patient_back_with_a_new_code(
    counselor_client: APIClient, enrollment: Enrollment
) -> None:
    ScheduleFactory(enrollment=enrollment, next_due_at=timezone.now() + timedelta(hours=3))
    url = f"/api/v1/patients/{enrollment.id}/"
    not_yet = counselor_client.post(f"{url}readmit/", {}, format="json")
    assert not_yet.status_code == 400
    assert "status" in not_yet.json()["error"]["fields"]
    counselor_client.post(f"{url}discharge/", {"reason": "completed"}, format="json")

    response = counselor_client.post(f"{url}readmit/", {"reason": "relapse"}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["discharged_at"]) == ("active", None)
    assert CheckInSchedule.objects.get(enrollment=enrollment).next_due_at is not None
    history = counselor_client.get(f"{url}history/").json()["results"]
    assert [(h["old_value"], h["new_value"], h["reason"]) for h in history] == [
        ("active", "discharged", "completed"),
        ("discharged", "active", "relapse"),
    ]
    assert [p["patient"] for p in counselor_client.get("/api/v1/dashboard/caseload/").json()] == [
        enrollment.id
    ]
    code = counselor_client.post(f"{url}enrollment-code/")
    assert code.status_code == 201
    redeemed = APIClient().post(
        "/api/v1/auth/enrollment-code/", {"code": code.json()["enrollment_code"]}, format="json"
    )
    assert redeemed.status_code == 201


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
