"""Editing the week calendar in Chromium at desktop and phone widths: a session is created
(a wrong time is refused on its field first) and moved, a weekly series is created and the
rest of it cancelled from one occurrence; the API then answers the same."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from tests.e2e.api_client import api, sign_in, staff_headers
from tests.e2e.conftest import LiveApp

pytestmark = pytest.mark.e2e

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _zone(page: Any) -> zoneinfo.ZoneInfo:
    footer = page.locator("footer.site-footer").inner_text()
    return zoneinfo.ZoneInfo(footer.rstrip(".").split()[-1])


def _sessions(app: LiveApp, title: str) -> list[dict[str, Any]]:
    with api(app) as client:
        response = client.get("/sessions/", headers=staff_headers(app))
    assert response.status_code == 200, response.text
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return sorted((r for r in rows if r["title"] == title), key=lambda r: str(r["starts_at"]))


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    assert width <= 0, f"{page.url} scrolls sideways by {width}px"


@pytest.mark.parametrize("label", list(WIDTHS))
def test_create_and_move_a_session_then_a_series_and_cancel_its_rest(
    chromium: Any, live_app: LiveApp, artifacts: Any, label: str
) -> None:
    from playwright.sync_api import expect

    context = chromium.new_context(viewport=WIDTHS[label], base_url=live_app.base_url)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        sign_in(page, next_path="/dashboard/calendar/")
        zone = _zone(page)
        page.get_by_role("link", name="New session or series").click()
        page.wait_for_url("**/dashboard/calendar/new/**")
        today = date.fromisoformat(page.get_by_label("Date (first date of a series)").input_value())
        day = today + timedelta(days=1)
        title = f"Craving skills ({label})"

        # A time that ends before it starts is refused on its field; nothing is saved.
        page.get_by_label("Title").fill(title)
        page.get_by_label("Kind").select_option("skills_training")
        page.get_by_label("Date (first date of a series)").fill(day.isoformat())
        page.get_by_label("Starts").fill("10:00")
        page.get_by_label("Ends").fill("09:00")
        page.get_by_label("Location").fill("Room 4")
        page.get_by_role("button", name="Create").click()
        ends = page.get_by_label("Ends")
        expect(ends).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#id_end_time_error")).to_have_text("A session ends after it starts.")
        _no_sideways_scroll(page)
        page.screenshot(path=str(artifacts / f"session-new-error-{label}.png"), full_page=True)
        assert _sessions(live_app, title) == []

        ends.fill("11:30")
        page.get_by_role("button", name="Create").click()
        page.wait_for_url("**/dashboard/calendar/?week=*")
        expect(page.get_by_text("Session created.")).to_be_visible()
        card = page.locator(".session-card", has_text=title)
        expect(card).to_be_visible()
        _no_sideways_scroll(page)
        page.screenshot(path=str(artifacts / f"calendar-edit-{label}.png"), full_page=True)
        (created,) = _sessions(live_app, title)
        starts = datetime.combine(day, time(10, 0), tzinfo=zone)
        assert datetime.fromisoformat(created["starts_at"]) == starts
        assert datetime.fromisoformat(created["ends_at"]) == starts + timedelta(minutes=90)

        # Move it to the next day, 14:00 to 15:00.
        card.get_by_role("link", name="Move or cancel").click()
        page.wait_for_url(f"**/dashboard/sessions/{created['id']}/change/")
        _no_sideways_scroll(page)
        page.screenshot(path=str(artifacts / f"session-change-{label}.png"), full_page=True)
        page.get_by_label("New date").fill((day + timedelta(days=1)).isoformat())
        page.get_by_label("Starts").fill("14:00")
        page.get_by_label("Ends").fill("15:00")
        page.get_by_role("button", name="Move this session").click()
        page.wait_for_url("**/dashboard/calendar/?week=*")
        expect(page.get_by_text("Session moved.")).to_be_visible()
        (moved,) = _sessions(live_app, title)
        new_start = datetime.combine(day + timedelta(days=1), time(14, 0), tzinfo=zone)
        assert datetime.fromisoformat(moved["starts_at"]) == new_start
        assert datetime.fromisoformat(moved["ends_at"]) == new_start + timedelta(hours=1)

        # A series on every day, three sessions; then cancel the rest from the second.
        series_title = f"Morning check-in group ({label})"
        page.goto(f"/dashboard/calendar/new/?date={day.isoformat()}")
        page.get_by_label("Title").fill(series_title)
        page.get_by_label("Starts").fill("08:00")
        page.get_by_label("Ends").fill("08:45")
        for weekday in (
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ):
            page.get_by_label(weekday).check()
        page.get_by_label("Number of sessions in the series").fill("3")
        page.get_by_role("button", name="Create").click()
        page.wait_for_url("**/dashboard/calendar/?week=*")
        expect(page.get_by_text("Series created.")).to_be_visible()
        occurrences = _sessions(live_app, series_title)
        assert len(occurrences) == 3
        assert {o["series"] for o in occurrences} != {None}

        page.goto(f"/dashboard/sessions/{occurrences[1]['id']}/change/")
        page.get_by_role("button", name="Cancel the rest of the series").click()
        page.wait_for_url("**/dashboard/calendar/?week=*")
        expect(page.get_by_text("The rest of the series is cancelled.")).to_be_visible()
        statuses = [o["status"] for o in _sessions(live_app, series_title)]
        assert statuses == ["scheduled", "cancelled", "cancelled"]
    finally:
        context.close()
