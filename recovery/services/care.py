"""The patient's own toolkit: coping-skill practice, favourites, support contacts;
and what counselors add to it: assignments and program exercises."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone, translation

from backend.errors import ServiceError
from recovery.models import (
    Enrollment,
    Exercise,
    ExerciseAssignment,
    ExercisePractice,
    FavoriteExercise,
    SupportContact,
    SupportContactDeletion,
    User,
)


def _check_exercise_visible(enrollment: Enrollment, exercise: Exercise) -> None:
    errors = practice_problems(enrollment=enrollment, exercise=exercise)
    if errors:
        raise ServiceError(errors)


def practice_problems(
    *,
    enrollment: Enrollment | None = None,
    exercise: Exercise | None = None,
    practiced_at: datetime | None = None,
) -> dict[str, list[str]]:
    """The rules of a practice entry on whichever fields are given, by field: the API
    checks them together with its own field errors."""
    errors: dict[str, list[str]] = {}
    if (
        enrollment is not None
        and exercise is not None
        and exercise.program_id not in (None, enrollment.program_id)
    ):
        errors["exercise"] = ["Unknown exercise."]
    if practiced_at is not None and practiced_at > timezone.now():
        errors["practiced_at"] = ["Cannot be in the future."]
    return errors


def practice_log(
    *,
    enrollment: Enrollment,
    exercise: Exercise,
    craving_before: int,
    craving_after: int,
    helpfulness: int,
    note: str = "",
    practiced_at: datetime | None = None,
) -> ExercisePractice:
    errors = practice_problems(enrollment=enrollment, exercise=exercise, practiced_at=practiced_at)
    if errors:
        raise ServiceError(errors)
    now = timezone.now()
    return ExercisePractice.objects.create(
        enrollment=enrollment,
        exercise=exercise,
        craving_before=craving_before,
        craving_after=craving_after,
        helpfulness=helpfulness,
        note=note,
        practiced_at=practiced_at or now,
    )


def favorite_set(*, enrollment: Enrollment, exercise: Exercise, favorite: bool) -> bool:
    _check_exercise_visible(enrollment, exercise)
    if favorite:
        FavoriteExercise.objects.get_or_create(enrollment=enrollment, exercise=exercise)
    else:
        FavoriteExercise.objects.filter(enrollment=enrollment, exercise=exercise).delete()
    return favorite


def exercise_assign(
    *, enrollment: Enrollment, exercise: Exercise, actor: User, note: str = ""
) -> ExerciseAssignment:
    _check_exercise_visible(enrollment, exercise)
    assignment, _ = ExerciseAssignment.objects.update_or_create(
        enrollment=enrollment, exercise=exercise, defaults={"assigned_by": actor, "note": note}
    )
    return assignment


def exercise_unassign(*, assignment: ExerciseAssignment) -> None:
    assignment.delete()


def program_exercise_problems(*, actor: User, slug: str | None = None) -> dict[str, list[str]]:
    """The rules of adding a program exercise on whichever fields are given, by field."""
    if actor.program_id is None:
        return {"program": ["Only program staff add exercises."]}
    if (
        slug is not None
        and Exercise.objects.filter(program_id=actor.program_id, slug=slug).exists()
    ):
        return {"slug": ["Your program already has an exercise with this slug."]}
    return {}


def program_exercise_create(*, actor: User, data: dict[str, Any]) -> Exercise:
    errors = program_exercise_problems(actor=actor, slug=data["slug"])
    if errors:
        raise ServiceError(errors)
    # Stored as the default language's texts, whatever language the request came in: the
    # one every patient's reading falls back to, so a Spanish reader sees it as written
    # (recovery/translation.py), not an empty exercise.
    with translation.override(settings.MODELTRANSLATION_DEFAULT_LANGUAGE):
        return Exercise.objects.create(program_id=actor.program_id, **data)


MAX_CONTACTS = 50


def contact_problems(*, enrollment: Enrollment) -> dict[str, list[str]]:
    """The rules of adding a support contact, by field."""
    if enrollment.support_contacts.count() >= MAX_CONTACTS:
        return {"non_field_errors": [f"At most {MAX_CONTACTS} support contacts."]}
    return {}


@transaction.atomic
def contact_create(*, enrollment: Enrollment, data: dict[str, Any]) -> SupportContact:
    if "position" not in data or data["position"] is None:
        last = enrollment.support_contacts.aggregate(m=Max("position"))["m"]
        data = {**data, "position": 0 if last is None else last + 1}
    errors = contact_problems(enrollment=enrollment)
    if errors:
        raise ServiceError(errors)
    return SupportContact.objects.create(enrollment=enrollment, **data)


def contact_update(*, contact: SupportContact, data: dict[str, Any]) -> SupportContact:
    for key, value in data.items():
        setattr(contact, key, value)
    contact.save()
    return contact


@transaction.atomic
def contact_delete(*, contact: SupportContact) -> None:
    """Delete the contact, leaving only that it was deleted, for syncing apps. A contact a
    consent names stays: the consent is the record of what was disclosed to whom."""
    if contact.consents.exists():
        raise ServiceError(
            {"consents": ["A consent names this contact as its recipient: it stays on record."]}
        )
    contact_id = contact.id
    contact.delete()
    SupportContactDeletion.objects.create(
        enrollment_id=contact.enrollment_id, contact_id=contact_id
    )


@transaction.atomic
def contacts_reorder(*, enrollment: Enrollment, ordered_ids: list[int]) -> list[SupportContact]:
    contacts = {c.id: c for c in enrollment.support_contacts.select_for_update()}
    if sorted(ordered_ids) != sorted(contacts):
        raise ServiceError({"ids": ["List every one of your contacts exactly once."]})
    now = timezone.now()  # bulk_update does not stamp auto_now fields itself
    for position, contact_id in enumerate(ordered_ids):
        contacts[contact_id].position = position
        contacts[contact_id].updated_at = now
    SupportContact.objects.bulk_update(contacts.values(), ["position", "updated_at"])
    return [contacts[i] for i in ordered_ids]
