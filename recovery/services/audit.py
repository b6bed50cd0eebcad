"""The audit trail of access to patient records (HIPAA 164.312(b), 42 CFR Part 2)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from backend.client_ip import client_ip
from recovery.models import AuditEntry, Enrollment, User


@dataclass(frozen=True)
class RequestMeta:
    method: str = ""
    path: str = ""
    ip_address: str | None = None
    user_agent: str = ""

    @classmethod
    def of(cls, request: HttpRequest | None) -> RequestMeta:
        if request is None:
            return cls()
        # The same address the sign-in throttles and lockouts see (TRUSTED_PROXY_COUNT).
        ip = client_ip(request)
        return cls(
            method=request.method or "",
            path=request.path[:300],
            ip_address=ip or None,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        )


def audit_record(
    *,
    actor: User | None,
    action: str,
    resource: str,
    enrollment_ids: Iterable[int],
    meta: RequestMeta,
    status_code: int | None = None,
) -> int:
    """Append one entry per patient touched. Ids the actor cannot reach are not written
    (they were not disclosed); unknown ids are dropped."""
    ids = sorted(set(enrollment_ids))
    if not ids:
        return 0
    programs = dict(Enrollment.objects.filter(id__in=ids).values_list("id", "program_id"))
    now = timezone.now()
    entries = [
        AuditEntry(
            actor=actor,
            actor_role=actor.role if actor is not None else "system",
            program_id=programs[enrollment_id],
            enrollment_id=enrollment_id,
            action=action,
            resource=resource[:100],
            method=meta.method,
            path=meta.path,
            status_code=status_code,
            ip_address=meta.ip_address,
            user_agent=meta.user_agent,
            at=now,
        )
        for enrollment_id in ids
        if enrollment_id in programs
    ]
    AuditEntry.objects.bulk_create(entries)
    return len(entries)


def audit_record_program(
    *,
    actor: User,
    action: str,
    resource: str,
    program_id: int,
    meta: RequestMeta,
    changes: dict[str, dict[str, Any]] | None = None,
) -> AuditEntry:
    """One entry for a change to a program's own settings (no patient's record), such as
    a contingency management protocol, cap or catalogue item: the supervisor's trail.
    `changes`: each changed field's old and new value."""
    return AuditEntry.objects.create(
        actor=actor,
        actor_role=actor.role,
        program_id=program_id,
        enrollment_id=None,
        action=action,
        resource=resource[:100],
        method=meta.method,
        path=meta.path,
        ip_address=meta.ip_address,
        user_agent=meta.user_agent,
        at=timezone.now(),
        changes=changes or {},
    )


def audit_record_patient_change(
    *,
    actor: User,
    enrollment: Enrollment,
    resource: str,
    meta: RequestMeta,
    changes: dict[str, dict[str, Any]],
) -> AuditEntry:
    """One entry for a change to a patient's record that keeps its old and new value
    (who sits on their care team), in the patient's trail and the program's."""
    return AuditEntry.objects.create(
        actor=actor,
        actor_role=actor.role,
        program_id=enrollment.program_id,
        enrollment_id=enrollment.id,
        action=AuditEntry.Action.UPDATE,
        resource=resource[:100],
        method=meta.method,
        path=meta.path,
        ip_address=meta.ip_address,
        user_agent=meta.user_agent,
        at=timezone.now(),
        changes=changes,
    )


# --- staff reads, noted where access is decided ------------------------------------------
#
# The selectors of `recovery.selectors.access` note every patient whose records they hand
# to a staff member (one patient looked up by id, or the patients of the rows a list
# actually yields: the page, not everything the filter could reach). Notes gather in the
# scope of one request, deduplicated, and become one entry per patient when the request
# ends (`recovery.audit_middleware`), with the request's method, path and status. Outside
# a request (tasks, the shell) nothing is noted: there is no staff member asking.


@dataclass
class PendingAccess:
    """Patients noted so far in this request, by the id of the staff member who read them."""

    by_actor: dict[int, set[int]] = field(default_factory=dict)

    def patients_of(self, actor_id: int) -> set[int]:
        return self.by_actor.get(actor_id, set())


_pending: ContextVar[PendingAccess | None] = ContextVar("audit_pending", default=None)


@contextmanager
def audit_scope() -> Iterator[PendingAccess]:
    """Collect the staff access of one request (see `audit_note`)."""
    pending = PendingAccess()
    token = _pending.set(pending)
    try:
        yield pending
    finally:
        _pending.reset(token)


def audit_note(*, actor: Any, enrollment_ids: Iterable[int]) -> None:
    """A staff member was handed these patients' records in the current request. Whose
    reads are noted is decided by the callers, the selectors of `recovery.selectors.access`
    (`has_staff_role`)."""
    pending = _pending.get()
    if pending is None or actor.pk is None:
        return
    pending.by_actor.setdefault(int(actor.pk), set()).update(int(i) for i in enrollment_ids)


def audit_notes_take(*, actor: Any) -> set[int]:
    """Take the patients noted so far in this request for `actor` out of the request's
    scope, for a caller that records them itself under another action (a CSV download
    is an export): still one entry per patient."""
    pending = _pending.get()
    if pending is None or actor.pk is None:
        return set()
    return pending.by_actor.pop(int(actor.pk), set())
