"""Staff management through the API: supervisors only (counselors 403), programs never
see each other (404), invitations by email, deactivation that ends every sign-in at once
and lists the caseload, care teams set by supervisors; all of it audited."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from recovery.models import AuditEntry, CareTeamMember, StaffInvitation
from tests.conftest import client_for
from tests.factories import (
    CounselorFactory,
    EnrollmentFactory,
    ProgramFactory,
    SupervisorFactory,
)

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-staple"
NEW_PASSWORD = "a-long-enough-passphrase-2026"


def _login(username: str, password: str = PASSWORD) -> dict[str, str]:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return dict(response.json())


def _bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_supervisors_list_their_staff_counselors_are_refused(
    supervisor: Any, counselor: Any, patient_client: Any
) -> None:
    CounselorFactory()  # another program's
    listed = client_for(supervisor).get("/api/v1/staff/")
    assert listed.status_code == 200
    assert {row["id"] for row in listed.json()} == {supervisor.id, counselor.id}
    assert client_for(counselor).get("/api/v1/staff/").status_code == 403
    assert patient_client.get("/api/v1/staff/").status_code == 403
    assert (
        client_for(counselor)
        .post("/api/v1/staff/invitations/", {"email": "a@example.org", "role": "counselor"})
        .status_code
        == 403
    )
    assert (
        client_for(counselor).post(f"/api/v1/staff/{supervisor.id}/deactivate/").status_code == 403
    )


def test_another_programs_staff_and_invitations_are_404(supervisor: Any) -> None:
    elsewhere = SupervisorFactory()
    their_counselor = CounselorFactory(program=elsewhere.program)
    client_for(elsewhere).post(
        "/api/v1/staff/invitations/", {"email": "b@example.org", "role": "counselor"}
    )
    invitation = StaffInvitation.objects.get()
    mine = client_for(supervisor)
    assert mine.get(f"/api/v1/staff/{their_counselor.id}/").status_code == 404
    assert mine.post(f"/api/v1/staff/{their_counselor.id}/deactivate/").status_code == 404
    assert mine.post(f"/api/v1/staff/invitations/{invitation.id}/revoke/").status_code == 404
    assert mine.post(f"/api/v1/staff/invitations/{invitation.id}/reissue/").status_code == 404
    their_counselor.refresh_from_db()
    assert their_counselor.is_active
    assert mine.get("/api/v1/staff/invitations/").json() == []


def test_invite_by_email_then_accept_on_the_page_then_sign_in(
    supervisor: Any, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        created = client_for(supervisor).post(
            "/api/v1/staff/invitations/",
            {"email": "Dana@Example.org", "role": "counselor", "first_name": "Dana"},
            format="json",
        )
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "pending"
    assert "token" not in created.json()
    (message,) = mail.outbox
    link = re.search(r"https?://\S+/dashboard/invitation/\S+/", message.body)
    assert link
    path = link.group(0).split("testserver", 1)[1]
    page = client.get(path)
    assert page.status_code == 200
    assert b"Join" in page.content
    accepted = client.post(
        path,
        {"username": "dana", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
    )
    assert accepted.status_code == 302, accepted.content
    tokens = _login("dana", NEW_PASSWORD)
    me = _bearer(tokens["access"]).get("/api/v1/me/")
    assert me.status_code == 200
    assert client.get(path).status_code == 410  # once only
    assert b"used already" in client.get(path).content
    assert client_for(supervisor).get("/api/v1/staff/invitations/").json() == []
    assert "dana" in {
        row["username"] for row in client_for(supervisor).get("/api/v1/staff/").json()
    }


def test_bad_invitations_are_400_with_field_messages(supervisor: Any, counselor: Any) -> None:
    client = client_for(supervisor)
    bad = client.post(
        "/api/v1/staff/invitations/", {"email": "not-an-email", "role": "patient"}, format="json"
    )
    assert bad.status_code == 400
    assert {"email", "role"} <= set(bad.json()["error"]["fields"])
    taken = client.post(
        "/api/v1/staff/invitations/",
        {"email": counselor.email, "role": "counselor"},
        format="json",
    )
    assert taken.status_code == 400
    assert "email" in taken.json()["error"]["fields"]
    assert not StaffInvitation.objects.exists()


def test_deactivation_refuses_the_tokens_at_once_and_lists_the_caseload(
    supervisor: Any, counselor: Any, enrollment: Any, django_capture_on_commit_callbacks: Any
) -> None:
    on_team = EnrollmentFactory(program=supervisor.program)
    CareTeamMember.objects.create(enrollment=on_team, counselor=counselor)
    tokens = _login(counselor.username)
    theirs = _bearer(tokens["access"])
    assert theirs.get("/api/v1/patients/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(supervisor).post(f"/api/v1/staff/{counselor.id}/deactivate/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["is_active"] is False
    assert {(row["patient"], row["is_primary"]) for row in body["caseload"]} == {
        (enrollment.id, True),
        (on_team.id, False),
    }
    assert theirs.get("/api/v1/patients/").status_code == 401
    refreshed = APIClient().post(
        "/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json"
    )
    assert refreshed.status_code == 401
    signin = APIClient().post(
        "/api/v1/auth/token/", {"username": counselor.username, "password": PASSWORD}
    )
    assert signin.status_code == 401
    entry = AuditEntry.objects.get(resource=f"staff/{counselor.id}")
    assert (entry.actor_id, entry.changes["is_active"]["new"]) == (supervisor.id, False)


def test_a_supervisor_cannot_deactivate_themselves(supervisor: Any) -> None:
    response = client_for(supervisor).post(f"/api/v1/staff/{supervisor.id}/deactivate/")
    assert response.status_code == 422  # a Conflict, as everywhere in the API
    supervisor.refresh_from_db()
    assert supervisor.is_active


def test_reissue_and_revoke(supervisor: Any, django_capture_on_commit_callbacks: Any) -> None:
    client = client_for(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/staff/invitations/", {"email": "e@example.org", "role": "supervisor"}
        ).json()
        reissued = client.post(f"/api/v1/staff/invitations/{created['id']}/reissue/")
    assert reissued.status_code == 200
    assert len(mail.outbox) == 2
    assert mail.outbox[0].body != mail.outbox[1].body
    revoked = client.post(f"/api/v1/staff/invitations/{created['id']}/revoke/")
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    assert client.post(f"/api/v1/staff/invitations/{created['id']}/revoke/").status_code == 404
    assert client.get("/api/v1/staff/invitations/").json() == []


# --- care teams ---------------------------------------------------------------------------


def test_supervisors_set_the_care_team_and_the_new_counselor_sees_the_patient(
    supervisor: Any, counselor: Any, enrollment: Any
) -> None:
    newcomer = CounselorFactory(program=supervisor.program)
    url = f"/api/v1/patients/{enrollment.id}/care-team/"
    assert client_for(newcomer).get(f"/api/v1/patients/{enrollment.id}/").status_code == 404
    changed = client_for(supervisor).put(
        url, {"primary_counselor": newcomer.id, "members": [counselor.id]}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["primary_counselor"] == newcomer.id
    assert [(m["id"], m["is_primary"]) for m in changed.json()["members"]] == [
        (newcomer.id, True),
        (counselor.id, False),
    ]
    enrollment.refresh_from_db()
    assert enrollment.primary_counselor_id == newcomer.id
    assert client_for(newcomer).get(f"/api/v1/patients/{enrollment.id}/").status_code == 200
    # Taken off the team, the old counselor no longer reaches the patient.
    client_for(supervisor).put(
        url, {"primary_counselor": newcomer.id, "members": []}, format="json"
    )
    assert client_for(counselor).get(f"/api/v1/patients/{enrollment.id}/").status_code == 404
    entries = AuditEntry.objects.filter(resource="care_team", enrollment_id=enrollment.id)
    entry = entries.order_by("id").first()
    assert entry is not None
    assert entry.changes["primary_counselor"] == {"old": counselor.id, "new": newcomer.id}


def test_care_team_rules(supervisor: Any, counselor: Any, enrollment: Any) -> None:
    url = f"/api/v1/patients/{enrollment.id}/care-team/"
    outsider = CounselorFactory()
    assert client_for(counselor).get(url).status_code == 200
    assert (
        client_for(counselor)
        .put(url, {"primary_counselor": counselor.id, "members": []}, format="json")
        .status_code
        == 403
    )
    assert (
        client_for(CounselorFactory(program=supervisor.program))
        .put(url, {"primary_counselor": counselor.id, "members": []}, format="json")
        .status_code
        == 404
    )  # a counselor who does not see the patient
    assert client_for(SupervisorFactory()).get(url).status_code == 404
    foreign = client_for(supervisor).put(
        url, {"primary_counselor": outsider.id, "members": []}, format="json"
    )
    assert foreign.status_code == 400
    counselor.is_active = False
    counselor.save()
    stale = client_for(supervisor).put(
        url, {"primary_counselor": counselor.id, "members": []}, format="json"
    )
    assert stale.status_code == 400
    enrollment.refresh_from_db()
    assert enrollment.primary_counselor_id == counselor.id


def test_another_program_cannot_edit_care_teams() -> None:
    program = ProgramFactory()
    enrollment = EnrollmentFactory(program=program)
    elsewhere = SupervisorFactory()
    response = client_for(elsewhere).put(
        f"/api/v1/patients/{enrollment.id}/care-team/",
        {"primary_counselor": enrollment.primary_counselor_id, "members": []},
        format="json",
    )
    assert response.status_code == 404
