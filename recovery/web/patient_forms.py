"""What the patient page's action forms show: the choices, the current values, and after a
refused POST the fields' errors and what was typed (`PostedForm`). The forms post to
`recovery.web.patient_actions`; the rules are the API's serializers' and the services'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from recovery.models import (
    CheckInSchedule,
    Enrollment,
    GoalDomain,
    GoalMetric,
    GoalStatus,
    LevelOfCare,
    MedicationCategory,
    ScreenMethod,
    ScreenStatus,
    ScreenSubstance,
    Stage,
    SubstanceResult,
    User,
)
from recovery.selectors.care import exercises_visible_to
from recovery.selectors.plan import goals_visible_to, medications_visible_to, plans_visible_to
from recovery.selectors.suggestion import care_suggestion, suggestion_dismissal
from recovery.web import present

WEEKDAYS = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun")]


def error_messages(detail: Any) -> list[str]:
    """A serializer's errors of one field as plain sentences, nested ones (a screen's
    results) flattened."""
    if isinstance(detail, Mapping):
        return [m for value in detail.values() for m in error_messages(value)]
    if isinstance(detail, list | tuple):
        return [m for value in detail for m in error_messages(value)]
    return [str(detail)]


@dataclass
class PostedForm:
    """One refused form: its errors by field ("" for the form as a whole) and the values
    posted, so the page shows them again beside the fields."""

    name: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> list[str]:
        """Every message, named by its field, for the list at the top of the form."""
        return [
            m if key == "form" else f"{key.replace('_', ' ').capitalize()}: {m}"
            for key, messages in self.errors.items()
            for m in messages
        ]

    @classmethod
    def of(cls, name: str, errors: Mapping[str, Any], values: Mapping[str, Any]) -> PostedForm:
        shown: dict[str, list[str]] = {}
        for key, value in errors.items():
            # The page names the form's own errors "form" (a template cannot read key "").
            where = "form" if key in ("", "non_field_errors", "patient") else key
            shown.setdefault(where, []).extend(error_messages(value))
        return cls(name=name, errors=shown, values=values)


def _schedule_values(schedule: CheckInSchedule | None) -> dict[str, Any]:
    if schedule is None:
        return {"days_of_week": [], "grace_minutes": 60}
    return {
        "opens_at": f"{schedule.opens_at:%H:%M}",
        "due_by": f"{schedule.due_by:%H:%M}",
        "days_of_week": [str(day) for day in schedule.days_of_week],
        "grace_minutes": schedule.grace_minutes,
        "paused": schedule.paused,
        "paused_reason": schedule.paused_reason,
    }


def _posted_values(posted: PostedForm) -> dict[str, Any]:
    values = posted.values
    getlist = getattr(values, "getlist", None)
    out = {key: values.get(key) for key in values}
    if getlist is not None:
        out["days_of_week"] = getlist("days_of_week")
    return out


def _screen_rows(posted: PostedForm | None) -> list[tuple[str, str, str, bool]]:
    """(substance, label, result posted, prescribed posted) for each substance."""
    values: Mapping[str, Any] = posted.values if posted and posted.name == "screen" else {}
    return [
        (
            value,
            str(name),
            values.get(f"result_{value}", ""),
            bool(values.get(f"prescribed_{value}")),
        )
        for value, name in ScreenSubstance.choices
    ]


def _levels(enrollment: Enrollment) -> list[tuple[str, str]]:
    offered = enrollment.program.levels_of_care
    return [(v, str(n)) for v, n in LevelOfCare.choices if not offered or v in offered]


def patient_forms_context(
    *, user: User, enrollment: Enrollment, posted: PostedForm | None = None
) -> dict[str, Any]:
    """Everything `dashboard/_patient_actions.html` needs."""
    schedule = CheckInSchedule.objects.filter(enrollment=enrollment).first()
    suggestion = care_suggestion(enrollment=enrollment)
    values: dict[str, dict[str, Any]] = {"schedule": _schedule_values(schedule)}
    errors: dict[str, dict[str, list[str]]] = {}
    summaries: dict[str, list[str]] = {}
    if posted is not None:
        values[posted.name] = _posted_values(posted)
        errors[posted.name] = posted.errors
        summaries[posted.name] = posted.summary
    return {
        "exercises": list(exercises_visible_to(user).order_by("name")),
        "schedule": schedule,
        "weekdays": WEEKDAYS,
        "screen_methods": ScreenMethod.choices,
        "screen_statuses": ScreenStatus.choices,
        "screen_rows": _screen_rows(posted),
        "stages": Stage.choices,
        "levels": _levels(enrollment),
        "substance_results": SubstanceResult.choices,
        "medications": list(
            medications_visible_to(user).filter(enrollment=enrollment).order_by("start_date", "id")
        ),
        "medication_categories": MedicationCategory.choices,
        "plan": plans_visible_to(user).filter(enrollment=enrollment).first(),
        "goals": list(
            goals_visible_to(user)
            .filter(plan__enrollment=enrollment)
            .exclude(status=GoalStatus.REVISED)
            .order_by("due_date", "id")
        ),
        "goal_domains": GoalDomain.choices,
        "goal_metrics": GoalMetric.choices,
        "goal_statuses": [(v, n) for v, n in GoalStatus.choices if v != GoalStatus.REVISED],
        "suggestion": suggestion,
        "dismissal": suggestion_dismissal(enrollment=enrollment, suggestion=suggestion),
        "suggested_stage": (
            present.label(Stage, suggestion.suggested_stage) if suggestion.suggested_stage else ""
        ),
        "suggested_level": (
            present.label(LevelOfCare, suggestion.suggested_level_of_care)
            if suggestion.suggested_level_of_care
            else ""
        ),
        "form_values": values,
        "form_errors": errors,
        "form_summaries": summaries,
    }
