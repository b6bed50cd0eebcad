"""The program settings page in Chromium: a supervisor changes a threshold and the
reminder offsets, a bad value is refused on its field, and the API then answers the new
settings; a counselor has no link to the page and gets 404 there."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import DEMO_COUNSELOR, DEMO_PASSWORD, LiveApp

pytestmark = pytest.mark.e2e

DEMO_SUPERVISOR = "demo-supervisor"


def _sign_in(page: Any, username: str) -> None:
    page.goto("/dashboard/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/")


def _settings_from_api(app: LiveApp) -> dict[str, Any]:
    with httpx.Client(base_url=f"{app.base_url}/api/v1", timeout=10, trust_env=False) as api:
        signed_in = api.post(
            "/auth/token/", json={"username": DEMO_SUPERVISOR, "password": DEMO_PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["access"]
        response = api.get("/program/settings/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_supervisor_changes_the_settings_on_the_page(
    page: Any, live_app: LiveApp, artifacts: Any
) -> None:
    _sign_in(page, DEMO_SUPERVISOR)
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Settings").click()
    page.wait_for_url("**/dashboard/settings/")
    page.get_by_role("heading", name="Program settings").wait_for()

    threshold = page.get_by_label("Craving flag threshold (1 to 10)")
    threshold.fill("11")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("Ensure this value is less than or equal to 10.").wait_for()
    assert _settings_from_api(live_app)["craving_threshold"] != 11

    page.get_by_label("Craving flag threshold (1 to 10)").fill("9")
    page.get_by_label("Session reminders (minutes before, comma-separated)").fill("120, 30")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("Settings saved.").wait_for()
    assert page.get_by_label("Craving flag threshold (1 to 10)").input_value() == "9"
    page.screenshot(path=str(artifacts / "program-settings.png"), full_page=True)

    settings = _settings_from_api(live_app)
    assert settings["craving_threshold"] == 9
    assert settings["reminder_offsets_minutes"] == [120, 30]

    # On a phone: every field and the save button without sideways scrolling.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    save = page.get_by_role("button", name="Save settings").bounding_box()
    assert save is not None
    assert save["x"] + save["width"] <= 390
    page.screenshot(path=str(artifacts / "program-settings-phone.png"), full_page=True)


def test_a_counselor_cannot_reach_the_settings_page(page: Any, live_app: LiveApp) -> None:
    _sign_in(page, DEMO_COUNSELOR)
    nav = page.get_by_role("navigation", name="Dashboard")
    assert nav.get_by_role("link", name="Settings").count() == 0
    response = page.goto("/dashboard/settings/")
    assert response.status == 404
