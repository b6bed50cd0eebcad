"""Onboarding end to end: enroll, redeem the code, log a check-in; a code works once."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from recovery.models import Enrollment
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _checkin_body(**overrides):
    body = {
        "id": str(uuid.uuid4()),
        "mood": 4,
        "craving": 2,
        "used_substance": False,
        "device_time": timezone.now().isoformat(),
        "device_timezone": "America/New_York",
    }
    body.update(overrides)
    return body


def test_enroll_redeem_and_check_in(counselor_client):
    enrolled = counselor_client.post(
        "/api/v1/patients/", {"first_name": "Alex", "timezone": "America/Chicago"}, format="json"
    )
    assert enrolled.status_code == 201, enrolled.content
    code = enrolled.json()["enrollment_code"]

    app = APIClient()
    redeemed = app.post("/api/v1/auth/enrollment-code/", {"code": code}, format="json")
    assert redeemed.status_code == 201, redeemed.content
    app.credentials(HTTP_AUTHORIZATION=f"Bearer {redeemed.json()['access']}")

    me = app.get("/api/v1/me/").json()
    assert me["role"] == "patient"
    assert me["patient"] == enrolled.json()["patient"]["id"]

    checkin = app.post("/api/v1/checkins/", _checkin_body(), format="json")
    assert checkin.status_code == 201, checkin.content

    again = APIClient().post("/api/v1/auth/enrollment-code/", {"code": code}, format="json")
    assert again.status_code == 400
    assert "code" in again.json()["error"]["fields"]


def test_code_is_case_and_dash_insensitive(counselor_client):
    code = counselor_client.post("/api/v1/patients/", {"first_name": "Jo"}, format="json").json()[
        "enrollment_code"
    ]
    sloppy = code.replace("-", " ").lower()
    response = APIClient().post("/api/v1/auth/enrollment-code/", {"code": sloppy}, format="json")
    assert response.status_code == 201


def test_expired_code_is_refused(counselor_client, time_machine):
    code = counselor_client.post("/api/v1/patients/", {"first_name": "Jo"}, format="json").json()[
        "enrollment_code"
    ]
    time_machine.move_to(timezone.now() + timezone.timedelta(days=4))
    response = APIClient().post("/api/v1/auth/enrollment-code/", {"code": code}, format="json")
    assert response.status_code == 400


def test_new_code_voids_the_old_one(counselor_client):
    enrolled = counselor_client.post(
        "/api/v1/patients/", {"first_name": "Jo"}, format="json"
    ).json()
    newer = counselor_client.post(f"/api/v1/patients/{enrolled['patient']['id']}/enrollment-code/")
    assert newer.status_code == 201
    old = APIClient().post(
        "/api/v1/auth/enrollment-code/", {"code": enrolled["enrollment_code"]}, format="json"
    )
    assert old.status_code == 400
    fresh = APIClient().post(
        "/api/v1/auth/enrollment-code/", {"code": newer.json()["enrollment_code"]}, format="json"
    )
    assert fresh.status_code == 201


def test_staff_login_and_logout_revokes_refresh(counselor):
    app = APIClient()
    tokens = app.post(
        "/api/v1/auth/token/",
        {"username": counselor.username, "password": "correct-horse-battery-staple"},
        format="json",
    ).json()
    app.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert (
        app.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json").status_code
        == 204
    )
    refreshed = APIClient().post(
        "/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json"
    )
    assert refreshed.status_code == 401


# 23:30 on Saturday 31 October in New York is already 1 November in UTC, and the night
# the clocks go back: the patient's first day is the date on their wall.
NEW_YORK_LATE_EVENING = datetime(2026, 11, 1, 3, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "first_day"),
    [
        ("America/New_York", date(2026, 10, 31)),
        ("Pacific/Honolulu", date(2026, 10, 31)),
        ("America/Puerto_Rico", date(2026, 10, 31)),
        ("Europe/Berlin", date(2026, 11, 1)),
    ],
)
def test_an_evening_enrollment_starts_on_the_patients_date(
    counselor, time_machine, zone, first_day
):
    time_machine.move_to(NEW_YORK_LATE_EVENING, tick=False)
    counselor_client = client_for(counselor)
    enrolled = counselor_client.post(
        "/api/v1/patients/", {"first_name": "Alex", "timezone": zone}, format="json"
    )
    assert enrolled.status_code == 201, enrolled.content
    enrollment = Enrollment.objects.get(pk=enrolled.json()["patient"]["id"])
    assert enrollment.start_date == first_day
    assert enrollment.expected_end_date == first_day + timedelta(weeks=12)


def test_a_patient_enrolled_late_in_the_evening_has_an_empty_row_not_a_missing_one(
    counselor, time_machine
):
    time_machine.move_to(NEW_YORK_LATE_EVENING, tick=False)
    counselor_client = client_for(counselor)
    enrolled = counselor_client.post("/api/v1/patients/", {"first_name": "Alex"}, format="json")
    assert enrolled.status_code == 201, enrolled.content
    row = counselor_client.get("/api/v1/dashboard/caseload/").json()[0]
    assert row["adherence_7d"] == 0.0
    assert row["streak_days"] == 0
