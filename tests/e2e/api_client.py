"""What the e2e tests do through the public API, as the apps would: sign staff in, enroll a
patient of their own (so a test's flags never collide with another test's: a flag is one
per patient, kind and day), post a patient's check-in, sign in on the dashboard."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.e2e.conftest import DEMO_COUNSELOR, DEMO_PASSWORD, LiveApp

DEMO_SUPERVISOR = "demo-supervisor"


def api(app: LiveApp) -> httpx.Client:
    return httpx.Client(base_url=f"{app.base_url}/api/v1", timeout=10, trust_env=False)


def staff_headers(app: LiveApp, username: str = DEMO_COUNSELOR) -> dict[str, str]:
    with api(app) as client:
        response = client.post(
            "/auth/token/", json={"username": username, "password": DEMO_PASSWORD}
        )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access']}"}


@dataclass(frozen=True)
class Patient:
    enrollment_id: int
    name: str
    headers: dict[str, str]


def enroll_patient(app: LiveApp, first_name: str, last_name: str) -> Patient:
    """A new patient on the demo counselor's caseload, signed in to the app."""
    with api(app) as client:
        enrolled = client.post(
            "/patients/",
            json={"first_name": first_name, "last_name": last_name},
            headers=staff_headers(app),
        )
        assert enrolled.status_code == 201, enrolled.text
        body = enrolled.json()
        redeemed = client.post("/auth/enrollment-code/", json={"code": body["enrollment_code"]})
        assert redeemed.status_code == 201, redeemed.text
    return Patient(
        enrollment_id=int(body["patient"]["id"]),
        name=f"{first_name} {last_name}",
        headers={"Authorization": f"Bearer {redeemed.json()['access']}"},
    )


def post_checkin(app: LiveApp, patient: Patient, **answers: Any) -> httpx.Response:
    body = {
        "id": str(uuid.uuid4()),
        "mood": 2,
        "craving": 3,
        "used_substance": False,
        "device_time": datetime.now(UTC).isoformat(),
        "device_timezone": "America/New_York",
        **answers,
    }
    with api(app) as client:
        return client.post("/checkins/", json=body, headers=patient.headers)


def flags_of(app: LiveApp, patient: Patient, username: str = DEMO_COUNSELOR) -> list[Any]:
    with api(app) as client:
        response = client.get(
            "/flags/",
            params={"patient": patient.enrollment_id},
            headers=staff_headers(app, username),
        )
    assert response.status_code == 200, response.text
    body = response.json()
    return list(body["results"] if isinstance(body, dict) else body)


def sign_in(page: Any, username: str = DEMO_COUNSELOR, next_path: str = "/dashboard/") -> None:
    page.goto(next_path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{next_path}")


def wait_live(page: Any) -> None:
    page.wait_for_selector("body[data-live='live']", timeout=10_000)
