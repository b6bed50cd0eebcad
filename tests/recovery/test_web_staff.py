"""The staff pages of the dashboard: supervisors only (404 for counselors and across
programs), inviting, the public acceptance page (once, expired, two-factor), deactivating
(the session ends, the caseload is listed) and the care-team editor."""

from __future__ import annotations

import re
import smtplib
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from recovery.models import AuditEntry, CareTeamMember, StaffInvitation, User
from recovery.services.staff import INVITATION_LIFETIME
from tests.factories import CounselorFactory, EnrollmentFactory, SupervisorFactory

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-long-enough-passphrase-2026"


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _invite(supervisor: Any, capture: Any, email: str = "lee@example.org") -> str:
    with capture(execute=True):
        response = browser(supervisor).post(
            "/dashboard/staff/invite/", {"email": email, "role": "counselor", "first_name": "Lee"}
        )
    assert response.status_code == 302, response.content
    found = re.search(r"http://testserver(/dashboard/invitation/\S+/)", mail.outbox[-1].body)
    assert found
    return found.group(1)


def test_the_staff_page_is_for_supervisors(supervisor: Any, counselor: Any) -> None:
    page = browser(supervisor).get("/dashboard/staff/")
    assert page.status_code == 200
    assert counselor.username.encode() in page.content
    assert browser(counselor).get("/dashboard/staff/").status_code == 404
    assert browser(counselor).get(f"/dashboard/staff/{supervisor.id}/").status_code == 404
    assert (
        browser(counselor).post(f"/dashboard/staff/{supervisor.id}/deactivate/").status_code == 404
    )
    other = CounselorFactory()
    assert browser(supervisor).get(f"/dashboard/staff/{other.id}/").status_code == 404
    assert browser(supervisor).post(f"/dashboard/staff/{other.id}/deactivate/").status_code == 404
    other.refresh_from_db()
    assert other.is_active


def test_invite_lists_the_invitation_and_refuses_bad_input(
    supervisor: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _invite(supervisor, django_capture_on_commit_callbacks)
    page = browser(supervisor).get("/dashboard/staff/")
    assert b"lee@example.org" in page.content
    again = browser(supervisor).post(
        "/dashboard/staff/invite/", {"email": "lee@example.org", "role": "counselor"}
    )
    assert again.status_code == 400
    assert b"reissue it instead" in again.content
    bad = browser(supervisor).post("/dashboard/staff/invite/", {"email": "x", "role": "boss"})
    assert bad.status_code == 400
    assert StaffInvitation.objects.count() == 1


def test_accepting_with_two_factor_then_signing_in_with_it(
    supervisor: Any, django_capture_on_commit_callbacks: Any
) -> None:
    supervisor.program.require_staff_2fa = True
    supervisor.program.save()
    path = _invite(supervisor, django_capture_on_commit_callbacks)
    visitor = Client()
    page = visitor.get(path)
    assert page.status_code == 200
    secret = re.search(rb'id="totp-secret">([A-Z2-7=]+)<', page.content)
    assert secret
    key = StaffInvitation.objects.get().totp_key
    code = f"{TOTP(TOTPDevice(key=key).bin_key).token():06d}"
    form = {"username": "lee", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    without = visitor.post(path, form)
    assert without.status_code == 400
    assert not User.objects.filter(username="lee").exists()
    assert visitor.post(path, form | {"otp": code}).status_code == 302
    replayed = Client().post(
        "/dashboard/login/", {"username": "lee", "password": NEW_PASSWORD, "otp": code}
    )
    assert replayed.status_code == 200  # the code of the acceptance is spent
    with time_machine.travel(timezone.now() + timedelta(seconds=60)):
        fresh = f"{TOTP(TOTPDevice(key=key).bin_key).token():06d}"
        signin = Client().post(
            "/dashboard/login/", {"username": "lee", "password": NEW_PASSWORD, "otp": fresh}
        )
    assert signin.status_code == 302
    assert (
        Client()
        .post("/dashboard/login/", {"username": "lee", "password": NEW_PASSWORD})
        .status_code
        == 200
    )  # the form again: no code, no session
    assert visitor.get(path).status_code == 410


def test_every_view_of_the_link_shows_the_same_secret_and_writes_nothing(
    supervisor: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A mail scanner opening the link first, or the invitee in two tabs, must not leave
    the person with a secret that no longer counts."""
    supervisor.program.require_staff_2fa = True
    supervisor.program.save()
    path = _invite(supervisor, django_capture_on_commit_callbacks)
    before = StaffInvitation.objects.values().get()

    shown = [
        re.search(rb'id="totp-secret">([A-Z2-7=]+)<', Client().get(path).content) for _ in range(2)
    ]

    assert shown[0]
    assert shown[1]
    assert shown[0].group(1) == shown[1].group(1)
    assert StaffInvitation.objects.values().get() == before


def test_an_expired_or_unknown_link_says_so(
    supervisor: Any, django_capture_on_commit_callbacks: Any
) -> None:
    path = _invite(supervisor, django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + INVITATION_LIFETIME + timedelta(seconds=5)):
        expired = Client().get(path)
        assert expired.status_code == 410
        assert b"expired" in expired.content
        posted = Client().post(
            path, {"username": "x", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
        )
        assert posted.status_code == 410
    assert not User.objects.filter(username="x").exists()
    assert Client().get("/dashboard/invitation/not-a-token/").status_code == 410


def test_reissue_and_withdraw_from_the_page(
    supervisor: Any, django_capture_on_commit_callbacks: Any
) -> None:
    old = _invite(supervisor, django_capture_on_commit_callbacks)
    invitation = StaffInvitation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        browser(supervisor).post(f"/dashboard/staff/invitations/{invitation.id}/reissue/")
    assert Client().get(old).status_code == 410
    browser(supervisor).post(f"/dashboard/staff/invitations/{invitation.id}/revoke/")
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_deactivating_ends_the_session_and_lists_the_caseload(
    supervisor: Any, counselor: Any, enrollment: Any
) -> None:
    theirs = browser(counselor)
    assert theirs.get("/dashboard/").status_code == 200
    response = browser(supervisor).post(f"/dashboard/staff/{counselor.id}/deactivate/", follow=True)
    assert response.status_code == 200
    assert b"Deactivated" in response.content
    assert f'data-patient-id="{enrollment.id}"'.encode() in response.content
    assert f"/dashboard/patients/{enrollment.id}/care-team/".encode() in response.content
    after = theirs.get("/dashboard/")
    assert after.status_code == 302
    assert "/dashboard/login/" in after["Location"]
    assert AuditEntry.objects.filter(resource=f"staff/{counselor.id}").exists()


def test_the_care_team_editor_reassigns(supervisor: Any, counselor: Any, enrollment: Any) -> None:
    newcomer = CounselorFactory(program=supervisor.program)
    url = f"/dashboard/patients/{enrollment.id}/care-team/"
    assert browser(counselor).get(url).status_code == 404
    assert browser(SupervisorFactory()).get(url).status_code == 404
    page = browser(supervisor).get(url)
    assert page.status_code == 200
    patient_page = browser(supervisor).get(f"/dashboard/patients/{enrollment.id}/")
    assert url.encode() in patient_page.content
    assert (
        url.encode() not in browser(counselor).get(f"/dashboard/patients/{enrollment.id}/").content
    )
    saved = browser(supervisor).post(url, {"primary_counselor": newcomer.id, "members": []})
    assert saved.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.primary_counselor_id == newcomer.id
    assert list(
        CareTeamMember.objects.filter(enrollment=enrollment).values_list("counselor_id", flat=True)
    ) == [newcomer.id]
    other_program = CounselorFactory()
    refused = browser(supervisor).post(url, {"primary_counselor": other_program.id})
    assert refused.status_code == 400


def test_a_deactivated_member_is_offered_only_to_be_taken_off(
    supervisor: Any, counselor: Any, enrollment: Any
) -> None:
    second = EnrollmentFactory(program=supervisor.program)
    CareTeamMember.objects.create(enrollment=second, counselor=counselor)
    counselor.is_active = False
    counselor.save()
    url = f"/dashboard/patients/{second.id}/care-team/"
    page = browser(supervisor).get(url)
    assert b"(deactivated)" in page.content
    primary = second.primary_counselor_id
    kept = browser(supervisor).post(url, {"primary_counselor": primary, "members": [counselor.id]})
    assert kept.status_code == 302  # may stay until reassigned
    made_primary = browser(supervisor).post(url, {"primary_counselor": counselor.id})
    assert made_primary.status_code == 400


@pytest.mark.django_db(transaction=True)  # the mail goes when the view's transaction commits
def test_a_failing_mail_server_leaves_the_invitation_and_says_reissue(
    supervisor: Any, monkeypatch: Any, caplog: Any
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise smtplib.SMTPServerDisconnected("lee@example.org: connection lost")

    monkeypatch.setattr("recovery.services.staff.send_mail", refuse)
    client = browser(supervisor)
    response = client.post(
        "/dashboard/staff/invite/", {"email": "lee@example.org", "role": "counselor"}
    )
    assert response.status_code == 302
    page = client.get(response["Location"])
    invitation = StaffInvitation.objects.get()
    reissued = client.post(f"/dashboard/staff/invitations/{invitation.id}/reissue/", follow=True)
    for html in (page.content.decode(), reissued.content.decode()):
        assert "could not be sent" in html
        assert "reissue it" in html
    assert "lee@example.org" not in caplog.text
    assert "staff invitation mail not sent" in caplog.text


def test_reissue_or_withdraw_of_an_invitation_closed_meanwhile_says_so(
    supervisor: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    _invite(supervisor, django_capture_on_commit_callbacks)
    invitation = StaffInvitation.objects.get()
    # The page read the invitation open; another tab withdrew it before the service ran.
    monkeypatch.setattr(
        "recovery.web.staff._open_invitation", lambda user, pk: StaffInvitation.objects.get(id=pk)
    )
    browser(supervisor).post(f"/dashboard/staff/invitations/{invitation.id}/revoke/")
    for action in ("reissue", "revoke"):
        response = browser(supervisor).post(
            f"/dashboard/staff/invitations/{invitation.id}/{action}/"
        )
        assert response.status_code == 409
        assert b"This invitation was revoked." in response.content
