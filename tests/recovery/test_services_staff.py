"""Staff invitations and deactivation as services: the link works once, expires, can be
reissued or withdrawn; the program's two-factor rule holds for the new account; only
supervisors manage staff; every change is in the audit trail; the mail has no PHI."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from backend.errors import Conflict, NotAllowed, ServiceError
from recovery.models import AuditEntry, Role, StaffInvitation, User
from recovery.services.audit import RequestMeta
from recovery.services.staff import (
    INVITATION_LIFETIME,
    InvitationUnusable,
    invitation_accept,
    invitation_for_token,
    invitation_reissue,
    invitation_revoke,
    invitation_totp_key,
    staff_deactivate,
    staff_invite,
    staff_reactivate,
)
from tests.factories import CounselorFactory, EnrollmentFactory, SupervisorFactory

pytestmark = pytest.mark.django_db
META = RequestMeta()
PASSWORD = "a-long-enough-passphrase-2026"


def _link(raw: str) -> str:
    return f"https://dash.example/dashboard/invitation/{raw}/"


@pytest.fixture(autouse=True)
def _capture(django_capture_on_commit_callbacks: Any) -> Any:
    """The mail is sent after the commit: `_committing` runs the callbacks at its exit."""
    global _committing
    _committing = django_capture_on_commit_callbacks
    yield
    _committing = None


_committing: Any = None


def _invite(actor: Any, email: str = "new.counselor@example.org", **extra: Any) -> str:
    """Invites and answers the raw token, read from the mail (sent after the commit) as
    the invitee would."""
    with _committing(execute=True):
        staff_invite(
            actor=actor,
            email=email,
            role=extra.pop("role", Role.COUNSELOR),
            link_for=_link,
            meta=META,
            **extra,
        )
    return _token_in(mail.outbox[-1].body)


def _token_in(body: str) -> str:
    found = re.search(r"/dashboard/invitation/([^/\s]+)/", body)
    assert found, body
    return found.group(1)


def _code(key: str) -> str:
    device = TOTPDevice(key=key)
    return f"{TOTP(device.bin_key).token():06d}"


def test_the_link_works_once_and_makes_a_counselor_of_the_program(supervisor: Any) -> None:
    raw = _invite(supervisor, first_name="Ana", last_name="Ruiz")
    message = mail.outbox[-1]
    assert message.to == ["new.counselor@example.org"]
    assert supervisor.program.name in message.body
    user = invitation_accept(raw_token=raw, username="aruiz", password=PASSWORD)
    assert (user.role, user.program_id, user.is_active) == (
        Role.COUNSELOR,
        supervisor.program_id,
        True,
    )
    assert (user.first_name, user.email) == ("Ana", "new.counselor@example.org")
    assert user.check_password(PASSWORD)
    with pytest.raises(InvitationUnusable, match="used already"):
        invitation_accept(raw_token=raw, username="someone-else", password=PASSWORD)
    assert User.objects.filter(email="new.counselor@example.org").count() == 1
    assert AuditEntry.objects.filter(resource=f"staff/{user.id}", actor=user).exists()
    assert StaffInvitation.objects.get().token_hash != raw  # only the hash is kept


def test_the_mail_names_no_patient(supervisor: Any) -> None:
    enrollment = EnrollmentFactory(program=supervisor.program)
    _invite(supervisor)
    body = mail.outbox[-1].body
    for word in (enrollment.patient.first_name, enrollment.patient.last_name):
        assert not re.search(rf"\b{re.escape(word)}\b", body)


def test_the_link_expires(supervisor: Any) -> None:
    raw = _invite(supervisor)
    late = timezone.now() + INVITATION_LIFETIME + timedelta(minutes=1)
    with time_machine.travel(late), pytest.raises(InvitationUnusable, match="expired"):
        invitation_accept(raw_token=raw, username="late", password=PASSWORD)
    assert not User.objects.filter(username="late").exists()
    with time_machine.travel(timezone.now() + INVITATION_LIFETIME - timedelta(minutes=5)):
        assert invitation_accept(raw_token=raw, username="in-time", password=PASSWORD).is_active


def test_a_reissued_link_replaces_the_old_one_and_a_revoked_one_works_no_more(
    supervisor: Any,
) -> None:
    old = _invite(supervisor)
    invitation = StaffInvitation.objects.get()
    with time_machine.travel(timezone.now() + INVITATION_LIFETIME + timedelta(hours=1)):
        with _committing(execute=True):
            invitation_reissue(actor=supervisor, invitation=invitation, link_for=_link, meta=META)
        new = _token_in(mail.outbox[-1].body)
        with pytest.raises(InvitationUnusable, match="not valid"):
            invitation_for_token(old)
        assert invitation_for_token(new).id == invitation.id
        invitation_revoke(actor=supervisor, invitation=invitation, meta=META)
        with pytest.raises(InvitationUnusable, match="withdrawn"):
            invitation_accept(raw_token=new, username="x", password=PASSWORD)
    actions = list(
        AuditEntry.objects.filter(resource=f"staff_invitation/{invitation.id}")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "update", "delete"]


def test_only_supervisors_invite_and_an_address_is_invited_once(
    supervisor: Any, counselor: Any
) -> None:
    with pytest.raises(NotAllowed):
        staff_invite(
            actor=counselor, email="x@example.org", role=Role.COUNSELOR, link_for=_link, meta=META
        )
    _invite(supervisor, email="x@example.org")
    with pytest.raises(ServiceError) as again:
        staff_invite(
            actor=supervisor, email="X@example.org", role=Role.COUNSELOR, link_for=_link, meta=META
        )
    assert "reissue" in again.value.fields["email"][0]
    with pytest.raises(ServiceError) as taken:
        staff_invite(
            actor=supervisor, email=counselor.email, role=Role.COUNSELOR, link_for=_link, meta=META
        )
    assert "email" in taken.value.fields


def test_where_the_program_requires_two_factor_the_account_starts_with_it(
    supervisor: Any,
) -> None:
    supervisor.program.require_staff_2fa = True
    supervisor.program.save()
    raw = _invite(supervisor)
    invitation = invitation_for_token(raw)
    key = invitation_totp_key(invitation)
    with pytest.raises(ServiceError) as refused:
        invitation_accept(raw_token=raw, username="nofactor", password=PASSWORD)
    assert "otp" in refused.value.fields
    assert not User.objects.filter(username="nofactor").exists()
    user = invitation_accept(
        raw_token=raw, username="withfactor", password=PASSWORD, otp=_code(key)
    )
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed
    assert device.key == key


def test_a_weak_password_or_taken_username_is_refused_and_the_link_still_works(
    supervisor: Any, counselor: Any
) -> None:
    raw = _invite(supervisor)
    with pytest.raises(ServiceError) as refused:
        invitation_accept(raw_token=raw, username=counselor.username, password="123")
    assert set(refused.value.fields) == {"username", "password"}
    assert invitation_accept(raw_token=raw, username="fresh", password=PASSWORD)


def test_deactivation_is_for_supervisors_of_the_program_and_audited(
    supervisor: Any, counselor: Any
) -> None:
    with pytest.raises(NotAllowed):
        staff_deactivate(actor=counselor, staff=supervisor, meta=META)
    with pytest.raises(NotAllowed):
        staff_deactivate(actor=SupervisorFactory(), staff=counselor, meta=META)
    with pytest.raises(Conflict):
        staff_deactivate(actor=supervisor, staff=supervisor, meta=META)
    staff_deactivate(actor=supervisor, staff=counselor, meta=META)
    counselor.refresh_from_db()
    assert not counselor.is_active
    entry = AuditEntry.objects.get(resource=f"staff/{counselor.id}")
    assert entry.changes == {"is_active": {"old": True, "new": False}}
    staff_reactivate(actor=supervisor, staff=counselor, meta=META)
    counselor.refresh_from_db()
    assert counselor.is_active


def test_a_counselor_is_not_invited_into_another_program(supervisor: Any) -> None:
    raw = _invite(supervisor)
    other = CounselorFactory()
    user = invitation_accept(raw_token=raw, username="mine", password=PASSWORD)
    assert user.program_id == supervisor.program_id != other.program_id


def test_an_address_with_an_account_outside_the_program_is_not_revealed(
    supervisor: Any,
) -> None:
    """A patient's address, or a counselor's at another program, is invited like any
    other: the supervisor cannot learn that the person has an account anywhere."""
    patient = EnrollmentFactory().patient
    patient.email = "someone@example.org"
    patient.save(update_fields=["email"])
    elsewhere = CounselorFactory(email="colleague@example.org")  # of another program
    assert elsewhere.program_id != supervisor.program_id

    for email in (patient.email, elsewhere.email):
        _invite(supervisor, email=email)
    assert StaffInvitation.objects.filter(program=supervisor.program).count() == 2
