"""Enrolling in Chromium, as a supervisor at desktop width and as a counselor on a phone:
the one-time code on the page (text and QR code) redeems through the API, the patient
enrolled on the page is in the API's patient list, a new code replaces the old one, and
discharge and readmission on the page are what the API then answers."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import DEMO_COUNSELOR, DEMO_PASSWORD, LiveApp

pytestmark = pytest.mark.e2e

DEMO_SUPERVISOR = "demo-supervisor"
CODE = re.compile(r"^[A-Z2-9]{5}-[A-Z2-9]{5}$")


def _sign_in(page: Any, username: str) -> None:
    page.goto("/dashboard/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/")


def _api(app: LiveApp, username: str | None = None) -> httpx.Client:
    base_url = f"{app.base_url}/api/v1"
    headers = {}
    if username is not None:
        signed_in = httpx.post(
            f"{base_url}/auth/token/",
            json={"username": username, "password": DEMO_PASSWORD},
            timeout=10,
            trust_env=False,
        )
        assert signed_in.status_code == 200, signed_in.text
        headers["Authorization"] = f"Bearer {signed_in.json()['access']}"
    return httpx.Client(base_url=base_url, headers=headers, timeout=10, trust_env=False)


def _redeem(app: LiveApp, code: str) -> httpx.Response:
    with _api(app) as anonymous:
        return anonymous.post("/auth/enrollment-code/", json={"code": code})


def _enroll(page: Any, first: str, last: str) -> str:
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Enroll").click()
    page.wait_for_url("**/dashboard/patients/new/")
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_role("button", name="Enroll", exact=True).click()
    page.wait_for_url(re.compile(r".*/dashboard/patients/\d+/enrollment/$"))
    page.get_by_text(f"{first} {last} is enrolled.").wait_for()
    return _shown_code(page)


def _shown_code(page: Any) -> str:
    code = str(page.get_by_test_id("one-time-code").inner_text()).replace("Code:", "").strip()
    assert CODE.match(code), code
    qr = page.get_by_role("img", name="QR code of the one-time code").locator("svg")
    assert qr.count() == 1
    box = qr.bounding_box()
    assert box is not None
    assert box["width"] >= 150  # big enough to scan from the screen
    return code


def _no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _fits(page: Any, button: Any) -> None:
    box = button.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= page.viewport_size["width"]


def test_a_supervisor_enrolls_and_the_code_on_the_page_signs_the_app_in(
    page: Any, live_app: LiveApp, artifacts: Any
) -> None:
    _sign_in(page, DEMO_SUPERVISOR)
    code = _enroll(page, "Robin", "Okafor")
    page.screenshot(path=str(artifacts / "enrollment-code.png"), full_page=True)
    enrollment_id = int(re.findall(r"/patients/(\d+)/enrollment/", page.url)[0])

    with _api(live_app, DEMO_SUPERVISOR) as api:
        listed = api.get("/patients/", params={"page_size": 200}).json()["results"]
        mine = [p for p in listed if p["id"] == enrollment_id]
        assert [(p["first_name"], p["last_name"], p["status"]) for p in mine] == [
            ("Robin", "Okafor", "active")
        ]

    # Shown once: a reload no longer shows it, and the page is not cached.
    response = page.reload()
    assert "no-store" in response.headers["cache-control"]
    assert page.get_by_test_id("one-time-code").count() == 0

    # A new code: the old one stops working, the new one signs the app in, once.
    page.get_by_role("button", name="Issue a new code").click()
    page.get_by_text("A new code is issued.").wait_for()
    newer = _shown_code(page)
    assert newer != code
    assert _redeem(live_app, code).status_code == 400
    redeemed = _redeem(live_app, newer)
    assert redeemed.status_code == 201, redeemed.text
    with _api(live_app) as app_client:
        me = app_client.get(
            "/me/", headers={"Authorization": f"Bearer {redeemed.json()['access']}"}
        ).json()
    assert me["patient"] == enrollment_id
    assert _redeem(live_app, newer).status_code == 400


def test_a_counselor_on_a_phone_enrolls_discharges_and_readmits(
    page: Any, live_app: LiveApp, artifacts: Any
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    _sign_in(page, DEMO_COUNSELOR)
    code = _enroll(page, "Jordan", "Vega")
    _no_sideways_scroll(page)
    _fits(page, page.get_by_role("button", name="Issue a new code"))
    _fits(page, page.get_by_role("img", name="QR code of the one-time code"))
    page.screenshot(path=str(artifacts / "enrollment-code-phone.png"), full_page=True)
    enrollment_id = int(re.findall(r"/patients/(\d+)/enrollment/", page.url)[0])
    assert _redeem(live_app, code).status_code == 201

    page.get_by_label("Reason").fill("Completed the program")
    discharge = page.get_by_role("button", name="Discharge")
    _fits(page, discharge)
    discharge.click()
    page.get_by_text("Jordan Vega is discharged.").wait_for()
    with _api(live_app, DEMO_COUNSELOR) as api:
        assert api.get(f"/patients/{enrollment_id}/").json()["status"] == "discharged"
    assert page.get_by_role("button", name="Issue a new code").count() == 0

    # Found again on the enroll page, and readmitted.
    page.goto("/dashboard/patients/new/")
    _no_sideways_scroll(page)
    _fits(page, page.get_by_role("button", name="Enroll", exact=True))
    page.get_by_role("link", name="Jordan Vega").click()
    page.get_by_label("Reason").fill("Returned after a lapse")
    page.get_by_role("button", name="Readmit").click()
    page.get_by_text("Jordan Vega is readmitted.").wait_for()
    _no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "enrollment-readmitted-phone.png"), full_page=True)
    with _api(live_app, DEMO_COUNSELOR) as api:
        assert api.get(f"/patients/{enrollment_id}/").json()["status"] == "active"
        history = api.get(f"/patients/{enrollment_id}/history/").json()["results"]
    assert [(h["new_value"], h["reason"]) for h in history if h["field"] == "status"] == [
        ("discharged", "Completed the program"),
        ("active", "Returned after a lapse"),
    ]
    # Readmitted, the patient needs a new code: the page issues one that works.
    page.get_by_role("button", name="Issue a new code").click()
    assert _redeem(live_app, _shown_code(page)).status_code == 201


def test_a_bad_enrollment_is_refused_on_its_field(page: Any, live_app: LiveApp) -> None:
    _sign_in(page, DEMO_COUNSELOR)
    page.goto("/dashboard/patients/new/")
    page.get_by_label("First name").fill("Sky")
    page.get_by_label("Start date").fill("2026-06-01")
    page.get_by_label("Expected end date").fill("2026-05-01")
    page.get_by_role("button", name="Enroll", exact=True).click()
    page.get_by_text("Must be after the start date.").wait_for()
    with _api(live_app, DEMO_COUNSELOR) as api:
        names = [p["first_name"] for p in api.get("/patients/").json()["results"]]
    assert "Sky" not in names
