"""What a deactivation takes away besides the sign-in: the open invitations the person
sent, the open flags they were assigned (and new ones), and their dashboard sessions, which
a reactivation must not bring back."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from recovery.models import (
    AuditEntry,
    Flag,
    FlagEvent,
    FlagKind,
    FlagStatus,
    Role,
    Severity,
    StaffInvitation,
)
from recovery.services.audit import RequestMeta
from recovery.services.flag_handover import UNASSIGNED_NOTE
from recovery.services.flags import FlagCandidate, flags_raise
from recovery.services.staff import (
    InvitationUnusable,
    invitation_for_token,
    staff_deactivate,
    staff_invite,
    staff_reactivate,
)
from tests.factories import SupervisorFactory

pytestmark = pytest.mark.django_db
META = RequestMeta()


def _flag(
    enrollment: Any, *, status: str = FlagStatus.OPEN, window_key: str = "2026-03-01"
) -> Flag:
    return Flag.objects.create(
        enrollment=enrollment,
        kind=FlagKind.HIGH_CRAVING,
        severity=Severity.WARNING,
        window_key=window_key,
        created_at=timezone.now(),
        assigned_to=enrollment.primary_counselor,
        status=status,
    )


def test_a_deactivated_supervisors_open_invitations_are_withdrawn_and_audited(
    supervisor: Any,
) -> None:
    leaving: Any = SupervisorFactory(program=supervisor.program)
    tokens: list[str] = []

    def link_for(raw: str) -> str:
        tokens.append(raw)
        return raw

    staff_invite(
        actor=leaving,
        email="outsider@example.org",
        role=Role.SUPERVISOR,
        link_for=link_for,
        meta=META,
    )
    staff_invite(
        actor=supervisor, email="kept@example.org", role=Role.COUNSELOR, link_for=str, meta=META
    )
    staff_deactivate(actor=supervisor, staff=leaving, meta=META)
    with pytest.raises(InvitationUnusable):
        invitation_for_token(tokens[0])
    withdrawn = StaffInvitation.objects.get(email="outsider@example.org")
    assert withdrawn.revoked_at is not None
    assert AuditEntry.objects.filter(
        resource=f"staff_invitation/{withdrawn.id}",
        action=AuditEntry.Action.DELETE,
        actor=supervisor,
    ).exists()
    assert StaffInvitation.objects.get(email="kept@example.org").revoked_at is None


def test_a_deactivated_counselors_open_flags_go_back_to_the_queue_unassigned(
    supervisor: Any, counselor: Any, enrollment: Any
) -> None:
    open_flag = _flag(enrollment)
    acknowledged = _flag(enrollment, status=FlagStatus.ACKNOWLEDGED, window_key="2026-03-02")
    resolved = _flag(enrollment, status=FlagStatus.RESOLVED, window_key="2026-03-03")
    staff_deactivate(actor=supervisor, staff=counselor, meta=META)
    for flag in (open_flag, acknowledged):
        flag.refresh_from_db()
        assert flag.assigned_to_id is None
        event = FlagEvent.objects.get(flag=flag, action=FlagEvent.Action.ASSIGNED)
        assert (event.actor_id, event.note) == (supervisor.id, UNASSIGNED_NOTE)
        entry = AuditEntry.objects.get(resource=f"flag/{flag.id}")
        assert entry.enrollment_id == enrollment.id
        assert entry.changes == {"assigned_to": {"old": counselor.id, "new": None}}
    resolved.refresh_from_db()
    assert resolved.assigned_to_id == counselor.id  # history stays as it was


def test_a_new_flag_is_not_assigned_to_a_deactivated_primary_counselor(
    supervisor: Any, counselor: Any, enrollment: Any
) -> None:
    staff_deactivate(actor=supervisor, staff=counselor, meta=META)
    enrollment.refresh_from_db()
    assert enrollment.primary_counselor_id == counselor.id  # until reassigned
    now = timezone.now()
    (flag,) = flags_raise(
        candidates=[FlagCandidate(enrollment, FlagKind.SELF_HARM, "2026-03-05", {})], now=now
    )
    assert flag.assigned_to_id is None
    flag.refresh_from_db()
    assert flag.assigned_to_id is None


def test_a_new_flag_goes_to_an_active_primary_counselor(counselor: Any, enrollment: Any) -> None:
    (flag,) = flags_raise(
        candidates=[FlagCandidate(enrollment, FlagKind.HIGH_CRAVING, "2026-03-05", {})],
        now=timezone.now(),
    )
    flag.refresh_from_db()
    assert flag.assigned_to_id == counselor.id


def test_reactivation_does_not_bring_back_the_old_dashboard_sessions(
    supervisor: Any, counselor: Any
) -> None:
    theirs = Client()
    theirs.force_login(counselor)
    own = Client()
    own.force_login(supervisor)
    assert theirs.get("/dashboard/").status_code == 200
    staff_deactivate(actor=supervisor, staff=counselor, meta=META)
    staff_reactivate(actor=supervisor, staff=counselor, meta=META)
    after = theirs.get("/dashboard/")
    assert after.status_code == 302
    assert "/dashboard/login/" in after["Location"]
    assert own.get("/dashboard/").status_code == 200  # others stay signed in
    assert Session.objects.count() == 1
