"""Writing the safety plan, together: the patient and their care team save the whole plan
against the version they started from; a save over someone else's newer version is
refused (they reload and merge), a save that changes nothing adds no version."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.errors import Conflict, NotAllowed, ServiceError
from recovery.models import (
    Enrollment,
    EnrollmentStatus,
    PlanSection,
    SafetyPlan,
    SafetyPlanItem,
    SafetyPlanVersion,
    SupportContact,
    User,
)
from recovery.selectors.care import exercises_visible_to

MAX_ITEMS_PER_SECTION = 20
FIELDS = ("text", "response", "exercise", "contact")


class PlanChangedMeanwhile(Conflict):
    code = "version_conflict"
    # Lazy: translated into the caller's language when the error is answered.
    message = gettext_lazy(  # type: ignore[assignment]
        "Someone else saved the plan meanwhile. Reload it and make your change again."
    )


def _normal(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "text": (item.get("text") or "").strip(),
            "response": (item.get("response") or "").strip(),
            "exercise": item.get("exercise"),
            "contact": item.get("contact"),
        }
        for item in items
    ]


def _snapshot(plan: SafetyPlan) -> dict[str, list[dict[str, Any]]]:
    sections: dict[str, list[dict[str, Any]]] = {s.value: [] for s in PlanSection}
    for item in plan.items.order_by("section", "position", "id"):
        sections[item.section].append(
            {
                "text": item.text,
                "response": item.response,
                "exercise": item.exercise_id,
                "contact": item.contact_id,
            }
        )
    return sections


def _problems(
    enrollment: Enrollment, sections: Mapping[str, list[dict[str, Any]]]
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    exercise_ids = {i["exercise"] for items in sections.values() for i in items if i["exercise"]}
    contact_ids = {i["contact"] for items in sections.values() for i in items if i["contact"]}
    known_exercises = set(
        exercises_visible_to(enrollment.patient)
        .filter(id__in=exercise_ids)
        .values_list("id", flat=True)
    )
    known_contacts = set(
        SupportContact.objects.filter(enrollment=enrollment, id__in=contact_ids).values_list(
            "id", flat=True
        )
    )
    for section, items in sections.items():
        if len(items) > MAX_ITEMS_PER_SECTION:
            errors[section] = [_("At most %(n)d items.") % {"n": MAX_ITEMS_PER_SECTION}]
            continue
        for index, item in enumerate(items):
            where = f"{section}.{index}"
            if not (item["text"] or item["exercise"] or item["contact"]):
                errors[where] = [_("Write something, or link an exercise or a contact.")]
            if item["exercise"] and item["exercise"] not in known_exercises:
                errors[f"{where}.exercise"] = [_("No such exercise in your library.")]
            if item["contact"] and item["contact"] not in known_contacts:
                errors[f"{where}.contact"] = [_("No such support contact of yours.")]
    return errors


def safety_plan_save(
    *,
    enrollment: Enrollment,
    editor: User,
    base_version: int,
    sections: Mapping[str, Sequence[Mapping[str, Any]]],
) -> SafetyPlan:
    """Replace the plan's sections given in `sections` (others stay as they are)."""
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise NotAllowed(message=_("Your program has ended, so the plan can no longer change."))
    unknown = set(sections) - set(PlanSection.values)
    if unknown:
        raise ServiceError({key: [_("Not a section of the plan.")] for key in sorted(unknown)})
    cleaned = {section: _normal(items) for section, items in sections.items()}
    errors = _problems(enrollment, cleaned)
    if errors:
        raise ServiceError(errors)
    now = timezone.now()
    with transaction.atomic():
        plan, _created = SafetyPlan.objects.get_or_create(
            enrollment=enrollment, defaults={"updated_at": now}
        )
        plan = SafetyPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.version != base_version:
            raise PlanChangedMeanwhile()
        before = _snapshot(plan)
        after = {**before, **cleaned}
        changed = [s.value for s in PlanSection if before[s.value] != after[s.value]]
        if not changed:
            return plan
        plan.items.filter(section__in=changed).delete()
        SafetyPlanItem.objects.bulk_create(
            SafetyPlanItem(
                plan=plan,
                section=section,
                position=position,
                text=item["text"],
                response=item["response"],
                exercise_id=item["exercise"],
                contact_id=item["contact"],
            )
            for section in changed
            for position, item in enumerate(after[section])
        )
        plan.version += 1
        plan.updated_at = now
        plan.updated_by = editor
        plan.save(update_fields=["version", "updated_at", "updated_by"])
        SafetyPlanVersion.objects.create(
            plan=plan,
            version=plan.version,
            changed_by=editor,
            changed_at=now,
            changed_sections=changed,
            snapshot=json.dumps(after),
        )
    return plan
