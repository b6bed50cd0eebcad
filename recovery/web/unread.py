"""The caseload's unread message counts, for the page to refresh without a reload: when
a message arrives over the websocket (a `care_message` notification carries ids only)
and when the counselor comes back to the tab (having read a conversation elsewhere)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from backend.bounds import id_text_in_range
from recovery.selectors.access import enrollments_visible_to
from recovery.selectors.messages import unread_by_patient
from recovery.web.views import _user, staff_required

MAX_PATIENTS = 500  # a caseload page's rows; more ids than that are ignored


@require_safe
@staff_required
def unread_counts(request: HttpRequest) -> JsonResponse:
    """`?patient=<enrollment id>` (repeated): how many of each one's messages the signed-in
    staff member has not read. Patients out of reach are left out, as if unknown."""
    wanted = [int(p) for p in request.GET.getlist("patient") if id_text_in_range(p)][:MAX_PATIENTS]
    user = _user(request)
    ids = list(enrollments_visible_to(user).filter(id__in=wanted).values_list("id", flat=True))
    counts = unread_by_patient(user, ids) if ids else {}
    return JsonResponse({"unread": {str(i): counts.get(i, 0) for i in ids}})
