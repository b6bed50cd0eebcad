"""Reads for managing a program's staff: its accounts, open invitations, a staff member's
caseload (to reassign on deactivation) and a patient's care team. Who may read them is
`recovery.selectors.access` (`staff_visible_to`, `enrollments_visible_to`)."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from recovery.models import CareTeamMember, Enrollment, EnrollmentStatus, StaffInvitation, User
from recovery.selectors.access import enrollments_visible_to, may_manage_staff, staff_visible_to


def display_name(user: User) -> str:
    return f"{user.first_name} {user.last_name}".strip() or user.username


def staff_accounts(user: User) -> QuerySet[User]:
    """The program's staff, active first, each with `has_second_factor`."""
    confirmed = TOTPDevice.objects.filter(user_id=OuterRef("pk"), confirmed=True)
    return (
        staff_visible_to(user)
        .annotate(has_second_factor=Exists(confirmed))
        .order_by("-is_active", "last_name", "first_name", "id")
    )


def staff_account(user: User, staff_id: int) -> User | None:
    return staff_accounts(user).filter(id=staff_id).first()


def staff_row(staff: User) -> dict[str, Any]:
    return {
        "id": staff.id,
        "username": staff.username,
        "name": display_name(staff),
        "email": staff.email,
        "role": staff.role,
        "is_active": staff.is_active,
        "has_second_factor": bool(getattr(staff, "has_second_factor", False)),
    }


def open_invitations(user: User) -> QuerySet[StaffInvitation]:
    """Invitations of the supervisor's program not yet accepted nor revoked (expired ones
    too: they are what a supervisor reissues)."""
    if not may_manage_staff(user) or user.program_id is None:
        return StaffInvitation.objects.none()
    return StaffInvitation.objects.filter(
        program_id=user.program_id, accepted_at__isnull=True, revoked_at__isnull=True
    )


def invitation_row(invitation: StaffInvitation) -> dict[str, Any]:
    expired = invitation.expires_at <= timezone.now()
    if invitation.accepted_at is not None:
        status = "accepted"
    elif invitation.revoked_at is not None:
        status = "revoked"
    else:
        status = "expired" if expired else "pending"
    return {
        "id": invitation.id,
        "email": invitation.email,
        "role": invitation.role,
        "first_name": invitation.first_name,
        "last_name": invitation.last_name,
        "status": status,
        "expires_at": invitation.expires_at,
        "created_at": invitation.created_at,
    }


def staff_caseload(user: User, staff: User) -> list[dict[str, Any]]:
    """The active patients `staff` cares for (as primary counselor or on the care team),
    as far as `user` sees them (noted for the audit trail): who needs reassigning."""
    on_team = CareTeamMember.objects.filter(enrollment_id=OuterRef("pk"), counselor_id=staff.id)
    enrollments = (
        enrollments_visible_to(user)
        .filter(status=EnrollmentStatus.ACTIVE)
        .filter(Q(primary_counselor_id=staff.id) | Q(Exists(on_team)))
        .order_by("patient__last_name", "patient__first_name", "id")
    )
    return [
        {
            "patient": e.id,
            "name": display_name(e.patient),
            "is_primary": e.primary_counselor_id == staff.id,
        }
        for e in enrollments
    ]


def care_team(enrollment: Enrollment) -> dict[str, Any]:
    """A patient's care team (read after `visible_enrollment`), primary first."""
    members = (
        CareTeamMember.objects.filter(enrollment_id=enrollment.id)
        .select_related("counselor")
        .order_by("-is_primary", "counselor__last_name", "counselor__first_name", "id")
    )
    return {
        "patient": enrollment.id,
        "primary_counselor": enrollment.primary_counselor_id,
        "members": [
            {
                "id": m.counselor_id,
                "name": display_name(m.counselor),
                "role": m.counselor.role,
                "is_active": m.counselor.is_active,
                "is_primary": m.is_primary,
            }
            for m in members
        ],
    }
