"""Stage and level-of-care suggestions from the record.

Everything here only reads: a suggestion is never acted on here, a counselor confirms it
through POST /api/v1/patients/{id}/change/.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from backend.timezones import local_date
from recovery.models import (
    Enrollment,
    EnrollmentChange,
    EnrollmentStatus,
    LevelOfCare,
    Stage,
    SuggestionDismissal,
)
from recovery.selectors.plan import Record, _ratio, _zone, monitoring_settings_of
from recovery.selectors.questionnaires import score_blockers

STAGE_ORDER = [
    Stage.ENGAGEMENT,
    Stage.EARLY_RECOVERY,
    Stage.MAINTENANCE,
    Stage.COMMUNITY_SUPPORT,
]
LEVEL_ORDER = [level.value for level in LevelOfCare]  # the ASAM continuum, least intensive first


# --- stage and level-of-care suggestions ------------------------------------------------


@dataclass
class Suggestion:
    """What the record suggests. Nothing is changed: a counselor confirms or not."""

    current_stage: str
    suggested_stage: str | None
    current_level_of_care: str
    suggested_level_of_care: str | None
    reasons: list[str]
    window_from: date
    window_to: date
    days_in_stage: int
    checkin_adherence: float | None
    use_days: int
    positive_screens: int
    missed_screens: int


def _level_step(program_levels: list[str], current: str, step: int) -> str | None:
    offered = [level for level in LEVEL_ORDER if not program_levels or level in program_levels]
    if current not in LEVEL_ORDER:
        return None
    position = LEVEL_ORDER.index(current)
    candidates = [
        level
        for level in offered
        if (
            LEVEL_ORDER.index(level) > position if step > 0 else LEVEL_ORDER.index(level) < position
        )
    ]
    if not candidates:
        return None
    return candidates[0] if step > 0 else candidates[-1]


def _stage_since(enrollment: Enrollment, zone: zoneinfo.ZoneInfo) -> date:
    last = (
        EnrollmentChange.objects.filter(enrollment=enrollment, field=EnrollmentChange.Field.STAGE)
        .order_by("-changed_at", "-id")
        .values_list("changed_at", flat=True)
        .first()
    )
    started = enrollment.start_date
    return max(started, local_date(last, zone)) if last else started


def care_suggestion(*, enrollment: Enrollment, now: datetime | None = None) -> Suggestion:
    """Suggest the next stage after a full window in this stage with check-in adherence at
    the program's bar, no reported use, no positive and no missed screen; suggest stepping
    down from the last stage; suggest stepping up the level of care when use (reported days
    plus positive or missed screens) reaches the program's count within the window. A
    questionnaire score in the window that meets an alert rule, or is reliably worse than
    baseline, holds the next stage back too."""
    now = now or timezone.now()
    rules = monitoring_settings_of(enrollment.program_id)
    window = rules.suggestion_window_days
    zone = _zone(enrollment)
    today = local_date(now, zone)
    last = today - timedelta(days=1)
    first = today - timedelta(days=window)
    record = Record.load(enrollment, since=first, now=now)
    done, expected = record.checkin_adherence(first, last)
    adherence = _ratio(done, expected)
    use_days = sum(1 for d in record.use_days if first <= d <= last)
    positives = sum(1 for d in record.positive_screen_days if first <= d <= today)
    missed = sum(1 for d in record.missed_screen_days if first <= d <= today)
    since = _stage_since(enrollment, zone)
    days_in_stage = (today - since).days
    bar = float(rules.suggestion_min_checkin_adherence)
    suggestion = Suggestion(
        current_stage=enrollment.stage,
        suggested_stage=None,
        current_level_of_care=enrollment.level_of_care,
        suggested_level_of_care=None,
        reasons=[],
        window_from=first,
        window_to=last,
        days_in_stage=days_in_stage,
        checkin_adherence=adherence,
        use_days=use_days,
        positive_screens=positives,
        missed_screens=missed,
    )
    if enrollment.status != EnrollmentStatus.ACTIVE:
        suggestion.reasons.append("The patient is discharged.")
        return suggestion
    reasons = suggestion.reasons
    program_levels = list(enrollment.program.levels_of_care or [])
    use_events = use_days + positives + missed
    if use_events >= rules.step_up_use_events:
        suggestion.suggested_level_of_care = _level_step(
            program_levels, enrollment.level_of_care, +1
        )
        reasons.append(
            f"{use_events} use events in the last {window} days (reported use days, positive "
            f"or missed screens); {rules.step_up_use_events} suggest more support."
        )
        if suggestion.suggested_level_of_care is None:
            reasons.append("The program offers no more intensive level of care.")
        return suggestion
    blockers: list[str] = []
    if days_in_stage < window:
        blockers.append(f"In this stage for {days_in_stage} days; {window} needed.")
    if adherence is None or adherence < bar:
        shown = "no scheduled check-ins" if adherence is None else f"{adherence:.0%}"
        blockers.append(f"Check-in adherence {shown} over {window} days; {bar:.0%} needed.")
    if use_days:
        blockers.append(f"Use reported on {use_days} days.")
    if positives:
        blockers.append(f"{positives} positive screens.")
    if missed:
        blockers.append(f"{missed} missed or refused screens.")
    blockers.extend(score_blockers(enrollment=enrollment, since=now - timedelta(days=window)))
    if blockers:
        reasons.extend(blockers)
        return suggestion
    reasons.append(
        f"Over the last {window} days: check-in adherence {adherence:.0%}, no reported use, "
        "no positive or missed screen."
    )
    position = STAGE_ORDER.index(Stage(enrollment.stage))
    if position + 1 < len(STAGE_ORDER):
        suggestion.suggested_stage = STAGE_ORDER[position + 1].value
    else:
        suggestion.suggested_level_of_care = _level_step(
            program_levels, enrollment.level_of_care, -1
        )
        if suggestion.suggested_level_of_care is None:
            reasons.append("The program offers no less intensive level of care.")
    return suggestion


def suggestion_dismissal(
    *, enrollment: Enrollment, suggestion: Suggestion, now: datetime | None = None
) -> SuggestionDismissal | None:
    """The dismissal holding this very suggestion back: one of the same stage and level,
    within the program's suggestion window (`recovery.models.suggestions`)."""
    if not (suggestion.suggested_stage or suggestion.suggested_level_of_care):
        return None
    now = now or timezone.now()
    window = monitoring_settings_of(enrollment.program_id).suggestion_window_days
    return (
        SuggestionDismissal.objects.filter(
            enrollment=enrollment,
            suggested_stage=suggestion.suggested_stage or "",
            suggested_level_of_care=suggestion.suggested_level_of_care or "",
            dismissed_at__gte=now - timedelta(days=window),
        )
        .select_related("dismissed_by")
        .first()
    )
