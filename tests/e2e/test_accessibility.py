"""axe-core on every dashboard page, at desktop (1280 px) and phone (390 px) widths, as a
counselor and as a supervisor (and the sign-in page signed out): no serious or critical
violation. At 390 px nothing a person acts on (links, buttons, fields) lies off the screen
sideways, and the page itself does not scroll sideways.

axe-core is the copy bundled by axe-playwright-python (its axe.min.js). Add a page to
PAGES, the one list, and it is audited everywhere it may be opened."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.api_client import (
    DEMO_SUPERVISOR,
    api,
    discharge,
    enroll_patient,
    flags_of,
    post_checkin,
    sign_in,
    staff_headers,
)
from tests.e2e.conftest import DEMO_COUNSELOR, LiveApp

pytestmark = pytest.mark.e2e

COUNSELOR, SUPERVISOR, SIGNED_OUT = DEMO_COUNSELOR, DEMO_SUPERVISOR, ""
STAFF = (COUNSELOR, SUPERVISOR)
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
BLOCKING = {"serious", "critical"}


@dataclass(frozen=True)
class Page:
    name: str
    path: str  # may name {enrollment_id} and {session_id} of the e2e data
    who: tuple[str, ...] = STAFF


PAGES = [
    Page("login", "/dashboard/login/", who=(SIGNED_OUT,)),
    Page("caseload", "/dashboard/"),
    Page("caseload-attention", "/dashboard/?show=attention"),
    Page("flags", "/dashboard/flags/"),
    Page("flag-history", "/dashboard/flags/resolved/"),
    Page("patient", "/dashboard/patients/{enrollment_id}/"),
    Page("calendar", "/dashboard/calendar/"),
    Page("session-new", "/dashboard/calendar/new/"),
    Page("session-change", "/dashboard/sessions/{session_id}/change/"),
    Page("enroll", "/dashboard/patients/new/"),
    Page("enrollment", "/dashboard/patients/{enrollment_id}/enrollment/"),
    Page("care-team", "/dashboard/patients/{enrollment_id}/care-team/", who=(SUPERVISOR,)),
    Page("incentives", "/dashboard/incentives/", who=(SUPERVISOR,)),
    Page("reports", "/dashboard/reports/", who=(SUPERVISOR,)),
    Page("audit", "/dashboard/audit/", who=(SUPERVISOR,)),
    Page("staff", "/dashboard/staff/", who=(SUPERVISOR,)),
    Page("settings", "/dashboard/settings/", who=(SUPERVISOR,)),
]

# Everything a person acts on, visible, whose box lies outside the screen sideways.
OFF_SCREEN_ACTIONS = """
() => Array.from(document.querySelectorAll(
  "main :is(a[href], button, select, input:not([type=hidden]), textarea, summary)"
)).filter((el) => {
  const box = el.getBoundingClientRect();
  if (!box.width || !box.height || el.closest("[hidden], .visually-hidden")) return false;
  return box.left < -1 || box.right > window.innerWidth + 1;
}).map((el) => el.outerHTML.slice(0, 120))
"""


@pytest.fixture(scope="module")
def flags_on_the_pages(live_app: LiveApp) -> Iterator[None]:
    """An open and a resolved flag, so the queue, the history and the patient page are
    audited with rows in them whichever tests ran before."""
    patient = enroll_patient(live_app, "Avery", "Audit")
    assert post_checkin(live_app, patient, craving=9).status_code == 201
    assert post_checkin(live_app, patient, used_substance=True).status_code == 201
    (used,) = [f for f in flags_of(live_app, patient) if f["kind"] == "substance_use"]
    with api(live_app) as client:
        resolved = client.post(
            f"/flags/{used['id']}/resolve/",
            json={"outcome_note": "Called; seen the next morning."},
            headers=staff_headers(live_app),
        )
    assert resolved.status_code == 200, resolved.text
    yield
    discharge(live_app, patient)


def _violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in BLOCKING:
            targets = [", ".join(node["target"]) for node in violation["nodes"]][:5]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


def _cases() -> list[Any]:
    roles = sorted({who for page in PAGES for who in page.who})
    return [
        pytest.param(role, width, id=f"{role or 'signed-out'}-{width}")
        for role in roles
        for width in WIDTHS
    ]


@pytest.mark.parametrize(("role", "width"), _cases())
def test_every_page_passes_axe_and_fits_a_phone(
    chromium: Any,
    live_app: LiveApp,
    artifacts: Any,
    flags_on_the_pages: None,
    role: str,
    width: str,
) -> None:
    context = chromium.new_context(viewport=WIDTHS[width], base_url=live_app.base_url)
    context.set_default_timeout(10_000)
    problems: dict[str, list[str]] = {}
    try:
        page = context.new_page()
        if role:
            sign_in(page, role)
        for audited in (p for p in PAGES if role in p.who):
            path = audited.path.format(**live_app.data)
            response = page.goto(path)
            assert response is not None
            assert response.status == 200, f"{path} answered {response.status} to {role}"
            page.wait_for_load_state("load")
            found = _violations(page)
            if width == "phone":
                overflow = page.evaluate(
                    "document.scrollingElement.scrollWidth - window.innerWidth"
                )
                if overflow > 0:
                    found.append(f"the page scrolls sideways by {overflow}px")
                found += [f"off screen: {html}" for html in page.evaluate(OFF_SCREEN_ACTIONS)]
            name = f"a11y-{audited.name}-{role or 'signed-out'}-{width}.png"
            page.screenshot(path=str(artifacts / name), full_page=True)
            if found:
                problems[path] = found
    finally:
        context.close()
    assert not problems, "\n".join(
        f"{path}:\n  " + "\n  ".join(found) for path, found in problems.items()
    )
