"""Staff management in Chromium, at desktop and phone widths: a supervisor invites a
counselor, the counselor follows the mailed link, sets a password and signs in; the
supervisor puts them on a patient's care team, then deactivates them: their open
dashboard signs out, the page lists the patient to reassign. Each step is checked
against what the API then answers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import DEMO_PASSWORD, LiveApp

pytestmark = pytest.mark.e2e

DEMO_SUPERVISOR = "demo-supervisor"
NEW_PASSWORD = "e2e-invited-passphrase-2026"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


def _api(app: LiveApp) -> httpx.Client:
    return httpx.Client(base_url=f"{app.base_url}/api/v1", timeout=10, trust_env=False)


def _token(app: LiveApp, username: str, password: str = DEMO_PASSWORD) -> str | None:
    with _api(app) as api:
        response = api.post("/auth/token/", json={"username": username, "password": password})
    return str(response.json()["access"]) if response.status_code == 200 else None


def _get(app: LiveApp, token: str, path: str) -> httpx.Response:
    with _api(app) as api:
        return api.get(path, headers={"Authorization": f"Bearer {token}"})


def _link_mailed_to(app: LiveApp, email: str) -> str:
    mail_dir = app.log.parent / "mail"
    for message in sorted(Path(mail_dir).glob("*.log"), key=lambda p: p.stat().st_mtime):
        text = message.read_text()
        if f"To: {email}" in text:
            found = re.search(r"https?://\S+/dashboard/invitation/\S+/", text)
            assert found, text
            return found.group(0)
    raise AssertionError(f"no mail to {email} in {mail_dir}")


def _sign_in(page: Any, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/dashboard/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/")


def _fits(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for button in page.locator("main button, main a.button").all():
        if button.is_visible():
            box = button.bounding_box()
            assert box is not None
            assert box["x"] + box["width"] <= width


@pytest.mark.parametrize("layout", ["desktop", "phone"])
def test_invite_accept_sign_in_then_deactivate(
    chromium: Any, live_app: LiveApp, artifacts: Path, layout: str
) -> None:
    width, height = WIDTHS[layout]
    email = f"e2e-{layout}@example.org"
    username = f"invited-{layout}"

    def context() -> Any:
        ctx = chromium.new_context(
            viewport={"width": width, "height": height}, base_url=live_app.base_url
        )
        ctx.set_default_timeout(10_000)
        return ctx

    supervisor_ctx, invitee_ctx = context(), context()
    try:
        page = supervisor_ctx.new_page()
        _sign_in(page, DEMO_SUPERVISOR)
        if layout == "desktop":
            nav = page.get_by_role("navigation", name="Dashboard")
            nav.get_by_role("link", name="Staff").click()
        else:
            page.goto("/dashboard/staff/")
        page.get_by_role("heading", name="Staff", exact=True).wait_for()
        page.get_by_label("Email").fill(email)
        page.get_by_label("Role").select_option("counselor")
        page.get_by_label("First name").fill("Robin")
        page.get_by_label("Last name").fill(layout.capitalize())
        page.get_by_role("button", name="Send invitation").click()
        page.get_by_text(f"Invitation sent to {email}.").wait_for()
        assert page.locator("#invitation-list").get_by_text(email, exact=True).count() == 1
        _fits(page, width)
        page.screenshot(path=str(artifacts / f"staff-{layout}.png"), full_page=True)

        supervisor_token = _token(live_app, DEMO_SUPERVISOR)
        assert supervisor_token
        invitations = _get(live_app, supervisor_token, "/staff/invitations/").json()
        assert [i["status"] for i in invitations if i["email"] == email] == ["pending"]

        # The invitee follows the mailed link, chooses a password and signs in.
        link = _link_mailed_to(live_app, email)
        invitee = invitee_ctx.new_page()
        invitee.goto(link)
        invitee.get_by_role("heading", name=re.compile("^Join ")).wait_for()
        _fits(invitee, width)
        invitee.screenshot(path=str(artifacts / f"staff-accept-{layout}.png"), full_page=True)
        invitee.get_by_label("Username").fill(username)
        invitee.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
        invitee.get_by_label("Password again").fill(NEW_PASSWORD)
        invitee.get_by_role("button", name="Create my account").click()
        invitee.get_by_text("Your account is ready. Sign in.").wait_for()
        _sign_in(invitee, username, NEW_PASSWORD)
        invitee.get_by_role("heading", name="Caseload").wait_for()
        invitee_token = _token(live_app, username, NEW_PASSWORD)
        assert invitee_token
        assert _get(live_app, invitee_token, "/me/").status_code == 200
        # The link works once.
        used = invitee_ctx.new_page()
        assert used.goto(link).status == 410
        used.get_by_text("This invitation link was used already.").wait_for()
        staff = _get(live_app, supervisor_token, "/staff/").json()
        (new,) = [s for s in staff if s["username"] == username]
        assert (new["role"], new["is_active"], new["email"]) == ("counselor", True, email)

        # The supervisor puts them on a patient's care team.
        patient = live_app.data["enrollment_id"]
        page.goto(f"/dashboard/patients/{patient}/care-team/")
        page.get_by_label(f"Robin {layout.capitalize()}", exact=True).check()
        _fits(page, width)
        page.get_by_role("button", name="Save care team").click()
        page.get_by_text("Care team saved.").wait_for()
        team = _get(live_app, supervisor_token, f"/patients/{patient}/care-team/").json()
        assert new["id"] in [m["id"] for m in team["members"]]

        # ... then deactivates them: the caseload to reassign is listed.
        page.goto("/dashboard/staff/")
        page.get_by_role("link", name=f"Manage Robin {layout.capitalize()}").click()
        page.get_by_role("button", name=f"Deactivate Robin {layout.capitalize()}").click()
        page.get_by_text(f"Robin {layout.capitalize()} was deactivated.").wait_for()
        assert page.locator("#member-state").inner_text() == "Deactivated"
        assert page.locator(f'#member-caseload [data-patient-id="{patient}"]').count() == 1
        _fits(page, width)
        page.screenshot(path=str(artifacts / f"staff-deactivated-{layout}.png"), full_page=True)

        detail = _get(live_app, supervisor_token, f"/staff/{new['id']}/").json()
        assert detail["is_active"] is False
        assert [c["patient"] for c in detail["caseload"]] == [patient]
        # Their sign-ins ended at once: the token is refused, the open dashboard signs out.
        assert _get(live_app, invitee_token, "/me/").status_code == 401
        assert _token(live_app, username, NEW_PASSWORD) is None
        invitee.goto("/dashboard/")
        invitee.wait_for_url("**/dashboard/login/**")
    finally:
        supervisor_ctx.close()
        invitee_ctx.close()
