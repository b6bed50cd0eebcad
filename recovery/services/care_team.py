"""Who cares for a patient: the care team and its primary counselor, set by the program's
supervisors (`may_manage_staff`), audited with the old and new team."""

from __future__ import annotations

from collections.abc import Collection

from django.db import transaction

from backend.errors import NotAllowed, ServiceError
from recovery.models import CareTeamMember, Enrollment, User
from recovery.selectors.access import assignable_staff, may_manage_staff
from recovery.services.audit import RequestMeta, audit_record_patient_change

MAX_CARE_TEAM = 10


def care_team_problems(
    *, enrollment: Enrollment, member_ids: Collection[int], primary_id: int | None
) -> dict[str, list[str]]:
    """The rules of a new care team: active staff of the patient's program (a member who
    was deactivated may stay until reassigned, never be added or made primary), at most
    MAX_CARE_TEAM, the primary counselor among them."""
    errors: dict[str, list[str]] = {}
    members = set(member_ids)
    if primary_id is not None:
        members.add(primary_id)
    if len(members) > MAX_CARE_TEAM:
        errors["members"] = [f"At most {MAX_CARE_TEAM} on a care team."]
    active = set(
        assignable_staff(program_id=enrollment.program_id)
        .filter(id__in=members)
        .values_list("id", flat=True)
    )
    current = set(enrollment.members.values_list("counselor_id", flat=True))
    if members - active - current:
        errors["members"] = ["Care team members are active staff of this program."]
    if primary_id is None or primary_id not in active:
        errors["primary_counselor"] = ["The primary counselor is active staff of this program."]
    return errors


def _team(enrollment: Enrollment) -> dict[str, object]:
    return {
        "primary_counselor": enrollment.primary_counselor_id,
        "members": sorted(enrollment.members.values_list("counselor_id", flat=True)),
    }


@transaction.atomic
def care_team_set(
    *,
    actor: User,
    enrollment: Enrollment,
    member_ids: Collection[int],
    primary_id: int,
    meta: RequestMeta,
) -> Enrollment:
    """The patient's care team becomes `member_ids` (the primary counselor always on it)."""
    if not may_manage_staff(actor, enrollment.program_id):
        raise NotAllowed(message="Only the program's supervisors change care teams.")
    locked = Enrollment.objects.select_for_update().get(id=enrollment.id)
    errors = care_team_problems(enrollment=locked, member_ids=member_ids, primary_id=primary_id)
    if errors:
        raise ServiceError(errors)
    before = _team(locked)
    wanted = set(member_ids) | {primary_id}
    locked.members.exclude(counselor_id__in=wanted).delete()
    # One primary at a time (a constraint): clear the old one before naming the new.
    locked.members.filter(is_primary=True).exclude(counselor_id=primary_id).update(is_primary=False)
    existing = set(locked.members.values_list("counselor_id", flat=True))
    CareTeamMember.objects.bulk_create(
        CareTeamMember(enrollment=locked, counselor_id=counselor_id)
        for counselor_id in sorted(wanted - existing)
    )
    locked.members.filter(counselor_id=primary_id).update(is_primary=True)
    if locked.primary_counselor_id != primary_id:
        locked.primary_counselor_id = primary_id
        locked.save(update_fields=["primary_counselor"])
    after = _team(locked)
    if after != before:
        audit_record_patient_change(
            actor=actor,
            enrollment=locked,
            resource="care_team",
            meta=meta,
            changes={key: {"old": before[key], "new": after[key]} for key in before},
        )
    return locked
