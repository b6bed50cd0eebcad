"""The open flags of a deactivated account go back to the queue unassigned: the account can
never acknowledge them, and a queue that still names it hides that nobody owns them."""

from __future__ import annotations

from django.db import transaction

from recovery.models import Flag, FlagEvent, FlagStatus, User
from recovery.services.audit import RequestMeta, audit_record_patient_change
from recovery.services.flags import _transition

UNASSIGNED_NOTE = "unassigned: the assignee's account was deactivated"


@transaction.atomic
def flags_unassign_from(*, staff: User, actor: User, meta: RequestMeta) -> list[Flag]:
    """Unassign every unresolved flag of `staff`, each with an ASSIGNED event (the queues
    follow) and an entry in its patient's audit trail."""
    flags = list(
        Flag.objects.select_for_update(of=("self",))
        .select_related("enrollment")
        .filter(assigned_to_id=staff.id)
        .exclude(status=FlagStatus.RESOLVED)
        .order_by("id")
    )
    for flag in flags:
        flag.assigned_to = None
        flag.save(update_fields=["assigned_to"])
        audit_record_patient_change(
            actor=actor,
            enrollment=flag.enrollment,
            resource=f"flag/{flag.id}",
            meta=meta,
            changes={"assigned_to": {"old": staff.id, "new": None}},
        )
        _transition(flag, action=FlagEvent.Action.ASSIGNED, actor=actor, note=UNASSIGNED_NOTE)
    return flags
