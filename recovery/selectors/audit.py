"""Reads of the audit trail."""

from __future__ import annotations

from django.db.models import QuerySet

from recovery.models import AuditEntry, Enrollment, User
from recovery.selectors.access import may_read_audit_trail


def audit_trail_for_supervisor(*, user: User) -> QuerySet[AuditEntry]:
    if not may_read_audit_trail(user):
        return AuditEntry.objects.none()
    return AuditEntry.objects.filter(program_id=user.program_id).select_related("actor")


def access_log_for_patient(*, enrollment: Enrollment) -> QuerySet[AuditEntry]:
    """Who opened this patient's record (staff only; the patient's own use is not here)."""
    return AuditEntry.objects.filter(enrollment_id=enrollment.id).select_related("actor")
