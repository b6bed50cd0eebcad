"""The flag history and reopen, and toasts that go when their flag is dealt with, in
Chromium against the live app: what the page shows is then checked against the API.

Each test enrolls a patient of its own through the API (a flag is one per patient, kind
and day, so the flags of other tests never stand in for these)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.api_client import (
    DEMO_SUPERVISOR,
    api,
    enroll_patient,
    flags_of,
    post_checkin,
    sign_in,
    staff_headers,
    wait_live,
)
from tests.e2e.conftest import LiveApp

pytestmark = pytest.mark.e2e

LIVE_MS = 5_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _context(chromium: Any, app: LiveApp, viewport: dict[str, int]) -> Any:
    context = chromium.new_context(viewport=viewport, base_url=app.base_url)
    context.set_default_timeout(10_000)
    return context


def _act(app: LiveApp, flag_id: int, action: str, body: dict[str, Any], username: str) -> Any:
    with api(app) as client:
        response = client.post(
            f"/flags/{flag_id}/{action}/", json=body or None, headers=staff_headers(app, username)
        )
    assert response.status_code == 200, response.text
    return response.json()


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    assert width <= 0, f"{page.url} scrolls sideways by {width}px"


def test_a_toast_goes_when_someone_else_acknowledges_or_resolves_its_flag(
    chromium: Any, live_app: LiveApp, artifacts: Any
) -> None:
    from playwright.sync_api import expect

    patient = enroll_patient(live_app, "Robin", "Toastmaker")
    counselor_context = _context(chromium, live_app, DESKTOP)
    supervisor_context = _context(chromium, live_app, DESKTOP)
    try:
        counselor = counselor_context.new_page()
        sign_in(counselor)
        wait_live(counselor)
        supervisor = supervisor_context.new_page()
        sign_in(supervisor, DEMO_SUPERVISOR, "/dashboard/flags/")
        wait_live(supervisor)

        # Two new flags: a toast each on the counselor's caseload page.
        assert post_checkin(live_app, patient, craving=9).status_code == 201
        assert post_checkin(live_app, patient, used_substance=True).status_code == 201
        toasts = counselor.locator("#flag-toasts li.toast", has_text=patient.name)
        expect(toasts).to_have_count(2, timeout=LIVE_MS)
        counselor.screenshot(path=str(artifacts / "toasts.png"))
        flags = {f["kind"]: f["id"] for f in flags_of(live_app, patient)}
        craving, substance = flags["high_craving"], flags["substance_use"]
        row = supervisor.locator(f"#flag-{craving}")
        expect(row).to_be_visible(timeout=LIVE_MS)

        # The supervisor acknowledges one through the API: its toast goes, the other stays;
        # the supervisor's open queue redraws the row.
        _act(live_app, craving, "acknowledge", {}, DEMO_SUPERVISOR)
        expect(counselor.locator(f"#flag-toasts li[data-flag-id='{craving}']")).to_have_count(
            0, timeout=LIVE_MS
        )
        expect(toasts).to_have_count(1)
        expect(row.locator(".status")).to_have_text("Acknowledged", timeout=LIVE_MS)

        # The other is resolved: the last toast goes and the toast area hides; the row
        # leaves the supervisor's queue.
        _act(live_app, substance, "resolve", {"outcome_note": "Called."}, DEMO_SUPERVISOR)
        expect(toasts).to_have_count(0, timeout=LIVE_MS)
        expect(counselor.locator("#flag-toasts")).to_be_hidden()
        expect(supervisor.locator(f"#flag-{substance}")).to_have_count(0, timeout=LIVE_MS)

        states = {f["id"]: f["status"] for f in flags_of(live_app, patient)}
        assert states == {craving: "acknowledged", substance: "resolved"}
    finally:
        counselor_context.close()
        supervisor_context.close()


@pytest.mark.parametrize(
    ("viewport", "label"), [(DESKTOP, "desktop"), (PHONE, "phone")], ids=["desktop", "phone"]
)
def test_the_history_shows_a_resolved_flag_and_reopens_it_for_everyone(
    chromium: Any, live_app: LiveApp, artifacts: Any, viewport: dict[str, int], label: str
) -> None:
    from playwright.sync_api import expect

    patient = enroll_patient(live_app, "Quinn", f"Reopener {label.title()}")
    assert post_checkin(live_app, patient, used_substance=True).status_code == 201
    (flag,) = flags_of(live_app, patient)
    _act(
        live_app,
        flag["id"],
        "resolve",
        {"outcome_note": "Met; safety plan updated."},
        "demo-counselor",
    )

    counselor_context = _context(chromium, live_app, viewport)
    supervisor_context = _context(chromium, live_app, DESKTOP)
    try:
        supervisor = supervisor_context.new_page()
        sign_in(supervisor, DEMO_SUPERVISOR, "/dashboard/flags/")
        wait_live(supervisor)
        expect(supervisor.locator(f"#flag-{flag['id']}")).to_have_count(0)

        page = counselor_context.new_page()
        sign_in(page, next_path="/dashboard/flags/")
        page.get_by_role("navigation", name="Flags").get_by_role("link", name="Resolved").click()
        page.wait_for_url("**/dashboard/flags/resolved/")
        wait_live(page)
        # Filter to this flag's kind and its resolver.
        page.get_by_label("Kind").select_option("substance_use")
        page.get_by_label("Resolved by").select_option(label="Casey")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url("**/dashboard/flags/resolved/?*")
        row = page.locator(f"#resolved-{flag['id']}")
        expect(row).to_contain_text("Met; safety plan updated.")
        expect(row.locator("[data-resolved-by]")).to_have_text("Casey")
        expect(row).to_contain_text(patient.name)
        page.screenshot(path=str(artifacts / f"flag-history-{label}.png"), full_page=True)
        _no_sideways_scroll(page)

        # Reopen, with a reason, in place; on a phone the action is on screen without
        # scrolling sideways.
        summary = row.locator("details.action--reopen summary")
        box = summary.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= viewport["width"]
        summary.click()
        row.get_by_label("Why reopen (optional)").fill("Used again on Friday.")
        row.get_by_role("button", name="Reopen flag").click()
        expect(page.locator(f"#resolved-{flag['id']}")).to_have_count(0)
        expect(page.locator("#announce-polite")).to_contain_text("Flag reopened.")
        assert "/dashboard/flags/resolved/" in page.url  # in place, no navigation

        # Another dashboard sees it back in the open queue at once.
        expect(supervisor.locator(f"#flag-{flag['id']}")).to_be_visible(timeout=LIVE_MS)
        expect(supervisor.locator(f"#flag-{flag['id']} .status")).to_have_text("Open")

        (after,) = flags_of(live_app, patient)
        assert after["status"] == "open"
        assert after["resolved_at"] is None
        assert after["events"][-1]["action"] == "reopened"
        assert after["events"][-1]["note"] == "Used again on Friday."
    finally:
        counselor_context.close()
        supervisor_context.close()
