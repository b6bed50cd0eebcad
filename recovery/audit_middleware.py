"""Writes the audit trail of each request: every staff access to patient records.

The access itself is noted where it is decided, by the selectors of
`recovery.selectors.access` (so nothing depends on what a response body looks like); this
middleware only opens the request's scope and, when the request succeeded, writes one
entry per patient noted, with who asked, what (the method), the resource (the URL's
name), from where, and the status. API and dashboard alike.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from recovery.models import AuditEntry
from recovery.selectors.access import has_staff_role
from recovery.services.audit import (
    PendingAccess,
    RequestMeta,
    audit_record,
    audit_scope,
)

ACTIONS = {
    "GET": AuditEntry.Action.READ,
    "HEAD": AuditEntry.Action.READ,
    "POST": AuditEntry.Action.CREATE,
    "PUT": AuditEntry.Action.UPDATE,
    "PATCH": AuditEntry.Action.UPDATE,
    "DELETE": AuditEntry.Action.DELETE,
}
# The trail itself is not a patient record; reading it is not re-logged forever.
UNAUDITED = {"audit-trail"}


class PatientAccessAuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit_scope() as pending:
            response = self.get_response(request)
        # A refused request disclosed nothing; a redirect is how a dashboard form succeeds.
        if response.status_code < 400:
            self._record(request, response, pending)
        return response

    def _record(self, request: HttpRequest, response: HttpResponse, pending: PendingAccess) -> None:
        user = getattr(request, "user", None)  # DRF copies its authenticated user here
        if user is None or not user.is_authenticated or not has_staff_role(user):
            return
        ids = pending.patients_of(user.pk)
        if not ids:
            return
        match = request.resolver_match
        resource = match.url_name if match and match.url_name else "api"
        if resource in UNAUDITED:
            return
        if match and match.namespace:
            resource = f"{match.namespace}-{resource}"
        action = ACTIONS.get(request.method or "GET", AuditEntry.Action.READ)
        if action == AuditEntry.Action.CREATE and match and match.kwargs:
            # A POST to an existing record (`flags/7/acknowledge/`) changes it.
            action = AuditEntry.Action.UPDATE
        audit_record(
            actor=user,
            action=action,
            resource=resource,
            enrollment_ids=ids,
            meta=RequestMeta.of(request),
            status_code=response.status_code,
        )
