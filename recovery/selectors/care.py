"""Reads of the patient's toolkit."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from modeltranslation.utils import get_language

from recovery.crisis import crisis_resources
from recovery.exercise_library import FIRST_LINE_SLUGS
from recovery.models import (
    Enrollment,
    Exercise,
    ExerciseAssignment,
    FavoriteExercise,
    SupportContact,
    User,
)


def exercises_visible_to(user: User) -> QuerySet[Exercise]:
    """The shared library plus the user's program's own exercises, by the name the reader
    sees (a program's own exercise with no Spanish name sorts by its English one)."""
    shown_name = Coalesce(NullIf(F(f"name_{get_language()}"), Value("")), F("name_en"))
    return Exercise.objects.filter(
        Q(program__isnull=True) | Q(program_id=user.program_id)
    ).order_by(shown_name, "id")


def _exercise_card(exercise: Exercise, *, reason: str) -> dict[str, Any]:
    return {
        "id": exercise.id,
        "name": exercise.name,
        "category": exercise.category,
        "summary": exercise.summary,
        "steps": exercise.steps,
        "duration_minutes": exercise.duration_minutes,
        "reason": reason,
    }


def contact_card(contact: SupportContact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "name": contact.name,
        "relationship": contact.relationship,
        "phone": contact.phone,
        "email": contact.email,
        "reachable_hours": contact.reachable_hours,
        "position": contact.position,
    }


def first_line_exercises() -> list[Exercise]:
    """The shared library's first-line skills, in FIRST_LINE_SLUGS order."""
    found = {
        e.slug: e for e in Exercise.objects.filter(program__isnull=True, slug__in=FIRST_LINE_SLUGS)
    }
    return [found[slug] for slug in FIRST_LINE_SLUGS if slug in found]


def urge_toolkit(*, enrollment: Enrollment) -> dict[str, Any]:
    """Everything that helps during a craving, in one answer: favourite then assigned
    exercises (the library's first-line skills when there are none, so the answer always
    offers something to do), support contacts in the patient's order, and the crisis lines."""
    favorites = [
        f.exercise
        for f in FavoriteExercise.objects.filter(enrollment=enrollment)
        .select_related("exercise")
        .order_by("created_at", "id")
    ]
    assigned = [
        a.exercise
        for a in ExerciseAssignment.objects.filter(enrollment=enrollment)
        .select_related("exercise")
        .order_by("-assigned_at", "-id")
    ]
    seen: set[int] = set()
    cards = []
    for exercise, reason in [(e, "favorite") for e in favorites] + [
        (e, "assigned") for e in assigned
    ]:
        if exercise.id not in seen:
            seen.add(exercise.id)
            cards.append(_exercise_card(exercise, reason=reason))
    if not cards:
        cards = [_exercise_card(e, reason="first_line") for e in first_line_exercises()]
    return {
        "exercises": cards,
        "support_contacts": [contact_card(c) for c in enrollment.support_contacts.all()],
        "crisis_resources": crisis_resources(),
    }
