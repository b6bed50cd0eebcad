"""Dismissing a stage or level-of-care suggestion (confirming one is
`recovery.services.enrollment.enrollment_change`)."""

from __future__ import annotations

from django.utils import timezone

from backend.errors import Conflict
from recovery.models import Enrollment, SuggestionDismissal, User
from recovery.selectors.suggestion import care_suggestion


def suggestion_dismiss(
    *,
    enrollment: Enrollment,
    actor: User,
    suggested_stage: str | None,
    suggested_level_of_care: str | None,
    reason: str = "",
) -> SuggestionDismissal:
    """Record "not now" for the suggestion the counselor saw: the stage and level they
    name must be what the record suggests now, so a suggestion that changed meanwhile
    is not dismissed unseen."""
    current = care_suggestion(enrollment=enrollment)
    if not (current.suggested_stage or current.suggested_level_of_care):
        raise Conflict(message="Nothing is suggested now.")
    if (current.suggested_stage, current.suggested_level_of_care) != (
        suggested_stage or None,
        suggested_level_of_care or None,
    ):
        raise Conflict(message="The suggestion has changed; look at it again.")
    return SuggestionDismissal.objects.create(
        enrollment=enrollment,
        suggested_stage=current.suggested_stage or "",
        suggested_level_of_care=current.suggested_level_of_care or "",
        reason=reason,
        dismissed_by=actor,
        dismissed_at=timezone.now(),
    )
