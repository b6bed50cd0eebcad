"""The reports page in Chromium, as a supervisor at desktop and phone widths: after
attendance is recorded through the API, the page's figures are those the API and the
CSV answer, the CSV link downloads the same file, nothing needs sideways scrolling on a
phone; a counselor has no link to the page and gets 404 there."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
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


class Api:
    def __init__(self, app: LiveApp, username: str) -> None:
        self.client = httpx.Client(base_url=f"{app.base_url}/api/v1", timeout=10, trust_env=False)
        signed_in = self.client.post(
            "/auth/token/", json={"username": username, "password": DEMO_PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        self.client.headers["Authorization"] = f"Bearer {signed_in.json()['access']}"

    def get(self, path: str, **params: Any) -> httpx.Response:
        response = self.client.get(path, params=params)
        assert response.status_code == 200, response.text
        return response

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        return dict(response.json())


def _record_attendance(app: LiveApp) -> None:
    """A 3.5-hour session that ended half an hour ago, and the setup's session (two hours
    from the start of this hour), both attended by the first patient."""
    api = Api(app, DEMO_SUPERVISOR)
    patient = app.data["enrollment_id"]
    ended = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    session = api.post(
        "/sessions/",
        {
            "kind": "group_therapy",
            "title": "Process group",
            "starts_at": (ended - timedelta(hours=3, minutes=30)).isoformat(),
            "ends_at": ended.isoformat(),
            "patients": [patient],
        },
    )
    for session_id in (session["id"], app.data["session_id"]):
        api.post(f"/sessions/{session_id}/attendance/", {"patient": patient, "status": "present"})


def _cell(page: Any, row: str, field: str) -> str:
    return str(page.locator(f"{row} [data-field='{field}']").first.inner_text()).strip()


def _check_figures(page: Any, api: Api) -> None:
    adherence = api.get("/reports/adherence/").json()
    for week in adherence["weeks"]:
        row = f"#adherence-program tr[data-week='{week['week_start']}']"
        done, due = week["checkins_done"], week["checkins_expected"]
        assert _cell(page, row, "checkins") == f"{done} / {due}"
        assert _cell(page, row, "hours") == str(week["hours_attended"])
    flags = api.get("/reports/flags/").json()
    assert _cell(page, "#flags-report tr[data-kind='all']", "raised") == str(
        flags["total"]["raised"]
    )
    rows = list(csv.DictReader(io.StringIO(api.get("/reports/service-days/csv/").text)))
    assert rows, "the attendance recorded is in the CSV"
    for line in rows:
        row = f"#service-days tr[data-patient='{line['patient_id']}'][data-date='{line['date']}']"
        assert _cell(page, row, "hours") == line["hours"]
        assert _cell(page, row, "service-day") == line["service_day"]
        assert _cell(page, row, "week-qualifies").startswith(line["week_qualifies"])
    assert any(float(line["hours"]) >= 3.5 for line in rows)


def test_a_supervisor_reads_the_reports_at_desktop_and_phone_widths(
    page: Any, live_app: LiveApp, artifacts: Any
) -> None:
    _record_attendance(live_app)
    api = Api(live_app, DEMO_SUPERVISOR)
    _sign_in(page, DEMO_SUPERVISOR)
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Reports").click()
    page.wait_for_url("**/dashboard/reports/")
    page.get_by_role("heading", name="Reports", exact=True).wait_for()
    _check_figures(page, api)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV of IOP service days").click()
    downloaded = download_info.value
    with open(downloaded.path(), encoding="utf-8", newline="") as file:
        assert file.read() == api.get("/reports/service-days/csv/").text
    page.screenshot(path=str(artifacts / "reports.png"), full_page=True)

    # On a phone: no sideways scrolling of the page; each CSV link in view.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for name in ("check-in adherence and attendance", "flags by kind", "IOP service days"):
        box = page.get_by_role("link", name=f"Download CSV of {name}").bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 390
    _check_figures(page, api)
    page.screenshot(path=str(artifacts / "reports-phone.png"), full_page=True)


def test_a_counselor_cannot_reach_the_reports(page: Any, live_app: LiveApp) -> None:
    _sign_in(page, DEMO_COUNSELOR)
    nav = page.get_by_role("navigation", name="Dashboard")
    assert nav.get_by_role("link", name="Reports").count() == 0
    assert page.goto("/dashboard/reports/").status == 404
    assert page.goto("/dashboard/reports/service-days.csv").status == 404
