"""What a CSV download of a program report leaves in the audit trail: an export of every
patient the report was drawn from, instead of the read the access selectors noted (one
entry per patient either way)."""

from __future__ import annotations

from recovery.models import AuditEntry, User
from recovery.selectors.reports import Report
from recovery.services.audit import RequestMeta, audit_notes_take, audit_record


def report_export_audit(*, actor: User, report: Report, meta: RequestMeta) -> int:
    noted = audit_notes_take(actor=actor)
    return audit_record(
        actor=actor,
        action=AuditEntry.Action.EXPORT,
        resource=f"report-{report.name}-csv",
        enrollment_ids=noted | report.patient_ids,
        meta=meta,
        status_code=200,
    )
