"""The audit trail page in Chromium, as a supervisor at desktop and phone widths: after
opening a patient's page, the filters show exactly the rows the API's audit endpoint
answers for the same patient, actor, action and local day, and the CSV holds them too; a
counselor has no link and gets 404."""

from __future__ import annotations

import csv
import io
import re
import zoneinfo
from datetime import datetime, time, timedelta
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


def _api_audit(app: LiveApp, params: dict[str, Any]) -> list[dict[str, Any]]:
    base = f"{app.base_url}/api/v1"
    with httpx.Client(base_url=base, timeout=10, trust_env=False) as api:
        signed_in = api.post(
            "/auth/token/", json={"username": DEMO_SUPERVISOR, "password": DEMO_PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        headers = {"Authorization": f"Bearer {signed_in.json()['access']}"}
        me = api.get("/me/", headers=headers).json()
        response = api.get(
            "/audit/", params={**params, "actor": me["id"], "page_size": 200}, headers=headers
        )
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def _program_zone(page: Any) -> zoneinfo.ZoneInfo:
    footer = page.locator(".site-footer").inner_text()
    found = re.search(r"time zone, ([A-Za-z_/+-]+)\.", footer)
    assert found, footer
    return zoneinfo.ZoneInfo(found.group(1))


def _row_ids(page: Any) -> list[int]:
    ids = page.locator("tr[data-entry-id]").evaluate_all(
        "rows => rows.map(r => Number(r.dataset.entryId))"
    )
    return [int(i) for i in ids]


def test_a_supervisor_filters_the_trail_as_the_api_does(
    page: Any, live_app: LiveApp, artifacts: Any
) -> None:
    _sign_in(page, DEMO_SUPERVISOR)
    patient_id = live_app.data["enrollment_id"]
    page.goto(f"/dashboard/patients/{patient_id}/")  # an audited read by the supervisor
    page.get_by_role("heading", name=live_app.data["patient_name"]).wait_for()

    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Audit trail").click()
    page.wait_for_url("**/dashboard/audit/")
    zone = _program_zone(page)
    today = datetime.now(zone).date()
    page.get_by_label("Patient").select_option(value=str(patient_id))
    page.get_by_label("Who").select_option(label="Sam")
    page.get_by_label("Action").select_option(value="read")
    page.get_by_label("From").fill(today.isoformat())
    page.get_by_label("To (inclusive)").fill(today.isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/dashboard/audit/?*")
    shown = _row_ids(page)
    assert shown, "the supervisor's read of the patient page is on the trail"
    assert page.locator("tr[data-entry-id]").first.get_by_text("dashboard-patient").count() == 1
    page.screenshot(path=str(artifacts / "audit-trail.png"), full_page=True)

    day_start = datetime.combine(today, time.min, tzinfo=zone)
    rows = _api_audit(
        live_app,
        {
            "patient": patient_id,
            "action": "read",
            "since": day_start.isoformat(),
            "until": (day_start + timedelta(days=1)).isoformat(),
        },
    )
    assert [row["id"] for row in rows] == shown

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    text = download.value.path().read_text(encoding="utf-8")
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [int(line["patient"]) for line in lines] == [patient_id] * len(shown)
    assert [line["at"] for line in lines] == [
        datetime.fromisoformat(row["at"].replace("Z", "+00:00")).isoformat() for row in rows
    ]

    # On a phone: the filters, the rows and the download without sideways scrolling.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for name in ("Show", "Download CSV"):
        target = page.get_by_role("button" if name == "Show" else "link", name=name)
        box = target.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= 390
    assert _row_ids(page) == shown
    page.screenshot(path=str(artifacts / "audit-trail-phone.png"), full_page=True)


def test_a_counselor_cannot_reach_the_audit_trail(page: Any, live_app: LiveApp) -> None:
    _sign_in(page, DEMO_COUNSELOR)
    nav = page.get_by_role("navigation", name="Dashboard")
    assert nav.get_by_role("link", name="Audit trail").count() == 0
    assert page.goto("/dashboard/audit/").status == 404
    assert page.goto("/dashboard/audit.csv").status == 404
