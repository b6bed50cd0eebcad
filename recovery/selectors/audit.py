"""Reads of the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from recovery.models import AuditEntry, Enrollment, User
from recovery.selectors.access import STAFF_ROLES, may_read_audit_trail


@dataclass(frozen=True)
class AuditQuery:
    """What a supervisor narrows the trail to: the API's `?patient=&actor=&action=&since=
    &until=` and the dashboard's filters alike. `since` counts, `until` does not."""

    patient_id: int | None = None
    actor_id: int | None = None
    action: str = ""
    since: datetime | None = None
    until: datetime | None = None


def audit_trail_for_supervisor(
    *, user: User, query: AuditQuery | None = None
) -> QuerySet[AuditEntry]:
    """The program's trail, newest first, narrowed by `query`."""
    if not may_read_audit_trail(user):
        return AuditEntry.objects.none()
    entries = AuditEntry.objects.filter(program_id=user.program_id).select_related("actor")
    return audit_trail_filtered(entries, query or AuditQuery())


def audit_trail_filtered(entries: QuerySet[AuditEntry], query: AuditQuery) -> QuerySet[AuditEntry]:
    if query.patient_id is not None:
        entries = entries.filter(enrollment_id=query.patient_id)
    if query.actor_id is not None:
        entries = entries.filter(actor_id=query.actor_id)
    if query.action:
        entries = entries.filter(action=query.action)
    if query.since is not None:
        entries = entries.filter(at__gte=query.since)
    if query.until is not None:
        entries = entries.filter(at__lt=query.until)
    return entries


def audit_trail_people(*, user: User) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The program's patients and staff (deactivated ones too: their past acts are on the
    trail) by id and name, for the filters of the trail's page. Names only, no record:
    not a read of the patients' records, and the trail is not re-logged when read."""
    if not may_read_audit_trail(user) or user.program_id is None:
        return [], []
    patients = (
        Enrollment.objects.filter(program_id=user.program_id)
        .order_by("patient__last_name", "patient__first_name", "id")
        .values_list("id", "patient__first_name", "patient__last_name")
    )
    staff = (
        User.objects.filter(program_id=user.program_id, role__in=STAFF_ROLES)
        .order_by("last_name", "first_name", "id")
        .values_list("id", "first_name", "last_name", "username")
    )
    return (
        [(pk, f"{first} {last}".strip() or f"Patient {pk}") for pk, first, last in patients],
        [(pk, f"{first} {last}".strip() or username) for pk, first, last, username in staff],
    )


def access_log_for_patient(*, enrollment: Enrollment) -> QuerySet[AuditEntry]:
    """Who opened this patient's record (staff only; the patient's own use is not here)."""
    return AuditEntry.objects.filter(enrollment_id=enrollment.id).select_related("actor")
