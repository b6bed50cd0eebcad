"""Every staff access to patient records through the API appends to the audit trail.

One place for all endpoints, so a new view cannot forget: after a successful staff
request under /api/v1/, the patients named in the URL or in the response are recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from recovery.models import AuditEntry, Role
from recovery.services.audit import RequestMeta, audit_record, patient_ids_in

ACTIONS = {
    "GET": AuditEntry.Action.READ,
    "HEAD": AuditEntry.Action.READ,
    "POST": AuditEntry.Action.CREATE,
    "PUT": AuditEntry.Action.UPDATE,
    "PATCH": AuditEntry.Action.UPDATE,
    "DELETE": AuditEntry.Action.DELETE,
}
STAFF_ROLES = (Role.COUNSELOR, Role.SUPERVISOR)
# The trail itself is not a patient record; reading it is not re-logged forever.
UNAUDITED = {"audit-trail"}


class PatientAccessAuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/v1/") and 200 <= response.status_code < 300:
            self._record(request, response)
        return response

    def _record(self, request: HttpRequest, response: Any) -> None:
        user = getattr(request, "user", None)  # DRF copies its authenticated user here
        if user is None or not user.is_authenticated or user.role not in STAFF_ROLES:
            return
        match = request.resolver_match
        resource = match.url_name if match and match.url_name else "api"
        if resource in UNAUDITED:
            return
        ids = patient_ids_in(getattr(response, "data", None))
        if match and resource.startswith("patient") and isinstance(match.kwargs.get("pk"), int):
            ids.add(match.kwargs["pk"])
        audit_record(
            actor=user,
            action=ACTIONS.get(request.method or "GET", AuditEntry.Action.READ),
            resource=resource,
            enrollment_ids=ids,
            meta=RequestMeta.of(request),
            status_code=response.status_code,
        )
