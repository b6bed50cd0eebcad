"""The patient page in Chromium, as the demo counselor: on a desktop, assign an exercise
and record a drug screen; on a 390 px phone, a schedule refused on its field and then
saved. Each is checked against what the API then returns. Uses the demo program's third
patient, whom setup_data gives no history, so the other e2e tests' flags and charts stay
as they were (a negative screen raises no flag).
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import DEMO_COUNSELOR, DEMO_PASSWORD, LiveApp

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


class Api:
    """The API as the demo counselor."""

    def __init__(self, app: LiveApp) -> None:
        self.client = httpx.Client(base_url=f"{app.base_url}/api/v1", timeout=10, trust_env=False)
        signed_in = self.client.post(
            "/auth/token/", json={"username": DEMO_COUNSELOR, "password": DEMO_PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        self.client.headers["Authorization"] = f"Bearer {signed_in.json()['access']}"

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def api(live_app: LiveApp) -> Any:
    client = Api(live_app)
    yield client
    client.client.close()


@pytest.fixture
def quiet_patient(api: Api) -> dict[str, Any]:
    """The third demo patient (by id), the one setup_data leaves without history; other
    e2e tests may enroll more after them."""
    patients = api.get("/patients/")
    rows = patients["results"] if isinstance(patients, dict) else patients
    return dict(sorted(rows, key=lambda row: row["id"])[2])


def _sign_in(page: Any, path: str) -> None:
    page.goto(path)
    page.get_by_label("Username").fill(DEMO_COUNSELOR)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{path}")


def _no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_a_counselor_assigns_an_exercise_and_records_a_screen(
    page: Any, live_app: LiveApp, api: Api, quiet_patient: dict[str, Any], artifacts: Any
) -> None:
    patient_id = quiet_patient["id"]
    _sign_in(page, f"/dashboard/patients/{patient_id}/")

    exercise = page.get_by_label("Exercise", exact=True)
    exercise.select_option(index=1)
    exercise_id = int(exercise.input_value())
    page.get_by_label("Note for the patient (optional)").fill("Try it before group")
    page.get_by_role("button", name="Assign", exact=True).click()
    page.get_by_text("Exercise assigned.").first.wait_for()
    assigned = api.get("/assignments/", patient=patient_id)["results"]
    assert (exercise_id, "Try it before group") in [(a["exercise"], a["note"]) for a in assigned]

    today = datetime.now(zoneinfo.ZoneInfo(quiet_patient["timezone"])).date()
    page.get_by_label("Collected on").fill(today.isoformat())
    page.get_by_label("Method", exact=True).select_option("urine")
    page.get_by_label("Collection observed").select_option("yes")
    page.get_by_label("Fentanyl", exact=True).select_option("negative")
    page.get_by_label("Cocaine", exact=True).select_option("negative")
    page.get_by_role("button", name="Record screen").click()
    page.get_by_text("Drug screen recorded.").wait_for()
    screen = api.get("/screens/", patient=patient_id)["results"][0]  # newest first
    assert (screen["collected_on"], screen["outcome"], screen["observed"]) == (
        today.isoformat(),
        "negative",
        True,
    )
    assert {r["substance"] for r in screen["results"]} == {"fentanyl", "cocaine"}
    # The page's timeline shows the screen with its results.
    timeline = page.locator(".timeline")
    timeline.get_by_text("Drug screen: Negative").wait_for()
    assert "Cocaine negative; Fentanyl negative" in timeline.inner_text()
    page.screenshot(path=str(artifacts / "patient-actions.png"), full_page=True)


def test_on_a_phone_a_bad_schedule_is_refused_then_saved(
    page: Any, live_app: LiveApp, api: Api, quiet_patient: dict[str, Any], artifacts: Any
) -> None:
    patient_id = quiet_patient["id"]
    page.set_viewport_size(PHONE)
    _sign_in(page, f"/dashboard/patients/{patient_id}/")
    assert _no_sideways_scroll(page)
    schedule_url = f"/patients/{patient_id}/checkin-schedule/"
    before = api.client.get(schedule_url)

    page.get_by_label("Window opens").fill("18:00")
    page.get_by_label("Due by").fill("18:00")
    page.get_by_role("button", name="Save schedule").click()
    error = page.locator("#schedule-due-error")
    error.wait_for()
    assert error.inner_text() == "Must differ from opens_at."
    assert "Due by: Must differ from opens_at." in page.locator("#schedule-errors").inner_text()
    assert page.get_by_label("Due by").get_attribute("aria-invalid") == "true"
    assert api.client.get(schedule_url).text == before.text  # nothing saved
    assert _no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "patient-schedule-refused-phone.png"), full_page=True)

    page.get_by_label("Due by").fill("21:30")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        box = page.get_by_label(day, exact=True)
        if day in ("Tue", "Thu"):
            box.check()
        else:
            box.uncheck()
    page.get_by_label("Grace after due (minutes)").fill("30")
    save = page.get_by_role("button", name="Save schedule")
    bounds = save.bounding_box()
    assert bounds is not None
    assert bounds["x"] + bounds["width"] <= PHONE["width"]
    save.click()
    page.get_by_text("Check-in schedule saved.").wait_for()

    schedule = api.get(schedule_url)
    assert (schedule["opens_at"], schedule["due_by"]) == ("18:00:00", "21:30:00")
    assert (schedule["days_of_week"], schedule["grace_minutes"]) == ([2, 4], 30)
    assert _no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "patient-schedule-phone.png"), full_page=True)
