"""Reads of the audit trail."""

from __future__ import annotations

from django.db.models import QuerySet

from recovery.models import AuditEntry, Enrollment, Role, User


def audit_trail_for_supervisor(*, user: User) -> QuerySet[AuditEntry]:
    if user.role != Role.SUPERVISOR or user.program_id is None:
        return AuditEntry.objects.none()
    return AuditEntry.objects.filter(program_id=user.program_id).select_related("actor")


def access_log_for_patient(*, enrollment: Enrollment) -> QuerySet[AuditEntry]:
    """Who opened this patient's record (staff only; the patient's own use is not here)."""
    return AuditEntry.objects.filter(enrollment_id=enrollment.id).select_related("actor")
