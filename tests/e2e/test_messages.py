"""The caseload's unread message count in a real browser against the real app.

A patient writes to their care team through the API; the demo counselor's caseload,
open and connected, shows the message as unread without a reload (the `care_message`
notification over the websocket); once the counselor has read the conversation the
count is gone, when they come back to the tab and after a reload. The same row shows
the patient's latest PHQ-9, its band and its change since baseline.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import DEMO_COUNSELOR, DEMO_PASSWORD, LiveApp

pytestmark = pytest.mark.e2e

LIVE_WITHIN_SECONDS = 3.0


def _api(app: LiveApp, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{app.base_url}/api/v1",
        timeout=10,
        trust_env=False,
        headers={"Authorization": f"Bearer {token}"},
    )


def _counselor_token(app: LiveApp) -> str:
    with httpx.Client(base_url=f"{app.base_url}/api/v1", timeout=10, trust_env=False) as api:
        response = api.post(
            "/auth/token/", json={"username": DEMO_COUNSELOR, "password": DEMO_PASSWORD}
        )
    assert response.status_code == 200, response.text
    return str(response.json()["access"])


def _phq9(total: int) -> dict[str, str]:
    """Answers adding up to `total`, item 9 (self-harm) always 0."""
    answers = {}
    for item in range(1, 10):
        value = 0 if item == 9 else min(3, total)
        answers[str(item)] = str(value)
        total -= value
    return answers


def _submit_phq9(app: LiveApp, total: int, days_ago: int) -> None:
    with _api(app, app.data["patient_token"]) as api:
        response = api.post(
            "/questionnaire-responses/",
            json={
                "id": str(uuid.uuid4()),
                "instrument": "phq9",
                "answers": _phq9(total),
                "device_time": (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(),
                "device_timezone": "America/New_York",
            },
        )
    assert response.status_code == 201, response.text


def _sign_in(page: Any) -> None:
    page.goto("/dashboard/")
    page.get_by_label("Username").fill(DEMO_COUNSELOR)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/")
    page.wait_for_selector("body[data-live='live']", timeout=10_000)


def test_the_caseload_counts_a_patients_message_live_and_drops_it_once_read(
    page: Any, live_app: LiveApp, artifacts: Any
) -> None:
    from playwright.sync_api import expect

    enrollment_id = live_app.data["enrollment_id"]
    _submit_phq9(live_app, 12, days_ago=3)
    _submit_phq9(live_app, 7, days_ago=0)

    _sign_in(page)
    row = page.locator(f"#caseload-table tr[data-patient-id='{enrollment_id}']")
    expect(row.locator("[data-scores]")).to_contain_text("PHQ-9 7 Mild")
    expect(row.locator("[data-scores]")).to_contain_text("down 5 since baseline")
    badge = row.locator("[data-unread-messages]")
    before = int(badge.get_attribute("data-unread-messages") or 0)

    # The patient writes; the open page counts it, no reload.
    with _api(live_app, live_app.data["patient_token"]) as api:
        sent = api.post("/me/conversation/messages/", json={"body": "Rough evening, call me?"})
    assert sent.status_code == 201, sent.text
    expect(badge).to_be_visible(timeout=LIVE_WITHIN_SECONDS * 1000)
    expect(badge).to_have_text(f"{before + 1} unread message{'' if before == 0 else 's'}")
    expect(page.locator("#announce-polite")).to_contain_text(
        f"New message from {live_app.data['patient_name']}"
    )
    page.screenshot(path=str(artifacts / "caseload-unread.png"), full_page=True)

    # The counselor reads the conversation (in the app, another tab) and comes back.
    with _api(live_app, _counselor_token(live_app)) as api:
        conversation = f"/patients/{enrollment_id}/conversation/"
        newest = api.get(conversation + "messages/").json()["results"][0]["id"]
        read = api.post(conversation + "read/", json={"up_to": newest})
    assert read.status_code == 200, read.text
    assert read.json()["unread"] == 0
    # Headless Chromium never hides a tab: say it was shown again, as a browser does.
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(badge).to_be_hidden(timeout=LIVE_WITHIN_SECONDS * 1000)
    assert badge.get_attribute("data-unread-messages") == "0"

    page.reload()
    expect(row.locator("[data-unread-messages]")).to_be_hidden()
    expect(row.locator("[data-scores]")).to_contain_text("PHQ-9 7 Mild")
