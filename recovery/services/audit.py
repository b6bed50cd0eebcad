"""The audit trail of access to patient records (HIPAA 164.312(b), 42 CFR Part 2)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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


def patient_ids_in(data: Any, *, depth: int = 0) -> set[int]:
    """Patient (enrollment) ids named in an API response body."""
    found: set[int] = set()
    if depth > 4:
        return found
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "patient" and isinstance(value, int):
                found.add(value)
            elif key == "patients" and isinstance(value, list):
                found.update(v for v in value if isinstance(v, int))
            elif isinstance(value, dict | list):
                found |= patient_ids_in(value, depth=depth + 1)
    elif isinstance(data, list):
        for item in data:
            found |= patient_ids_in(item, depth=depth + 1)
    return found
