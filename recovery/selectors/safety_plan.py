"""Reads of the safety plan: as the patient and their care team see it, and as the urge
button answers with it (the plan first)."""

from __future__ import annotations

from typing import Any

from recovery.models import Enrollment, PlanSection, SafetyPlan, SafetyPlanItem
from recovery.selectors.care import contact_card


def _person(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "name": user.get_full_name() or user.username, "role": user.role}


def _item(item: SafetyPlanItem) -> dict[str, Any]:
    exercise = item.exercise
    return {
        "text": item.text,
        "response": item.response,
        "exercise": (
            {
                "id": exercise.id,
                "name": exercise.name,
                "summary": exercise.summary,
                "duration_minutes": exercise.duration_minutes,
            }
            if exercise
            else None
        ),
        "contact": contact_card(item.contact) if item.contact else None,
    }


def safety_plan_view(enrollment: Enrollment) -> dict[str, Any]:
    """The plan in reading order, every section present (empty until written); linked
    exercises and contacts as they are now, not as they were when linked."""
    plan = SafetyPlan.objects.filter(enrollment=enrollment).select_related("updated_by").first()
    items: dict[str, list[dict[str, Any]]] = {s.value: [] for s in PlanSection}
    if plan is not None:
        for item in plan.items.select_related("exercise", "contact").order_by(
            "section", "position", "id"
        ):
            items[item.section].append(_item(item))
    return {
        "version": plan.version if plan else 0,
        "updated_at": plan.updated_at if plan else None,
        "updated_by": _person(plan.updated_by) if plan else None,
        "sections": [
            {"key": s.value, "title": str(s.label), "items": items[s.value]} for s in PlanSection
        ],
    }


def safety_plan_history(enrollment: Enrollment) -> list[dict[str, Any]]:
    """Who changed which sections when, newest first: the patient sees every change."""
    plan = SafetyPlan.objects.filter(enrollment=enrollment).first()
    if plan is None:
        return []
    return [
        {
            "version": v.version,
            "changed_by": _person(v.changed_by),
            "changed_at": v.changed_at,
            "changed_sections": [
                {"key": key, "title": str(PlanSection(key).label)} for key in v.changed_sections
            ],
        }
        for v in plan.versions.select_related("changed_by").order_by("-version")
    ]
