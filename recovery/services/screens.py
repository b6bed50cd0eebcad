"""Writes of drug screens: counselors record them; a positive (not prescribed), missed or
refused screen raises a flag through `flags_raise`, like a risky check-in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from backend.errors import ServiceError
from recovery.dates import enrollment_today
from recovery.models import (
    DrugScreen,
    DrugScreenResult,
    Enrollment,
    Flag,
    FlagKind,
    ScreenOutcome,
    ScreenStatus,
    SubstanceResult,
    User,
)
from recovery.services.flags import FlagCandidate, flags_raise
from recovery.services.incentive_facts import incentives_screen_recorded
from recovery.services.monitoring import _require_active, in_care_problems

MAX_SCREEN_AGE = timedelta(days=366)


# --- drug screens -----------------------------------------------------------------------


@dataclass(frozen=True)
class ResultInput:
    substance: str
    result: str
    prescribed: bool = False


@dataclass
class ScreenRecorded:
    screen: DrugScreen
    flags: list[Flag] = field(default_factory=list)


def _flag_reason(outcome: str, results: list[ResultInput]) -> dict[str, object]:
    """What a screen's flag says fired it: the outcome and what was unexpectedly positive."""
    positive = [
        r.substance for r in results if r.result == SubstanceResult.POSITIVE and not r.prescribed
    ]
    return {"screen_outcome": outcome, "positive_for": positive}


def screen_outcome(status: str, results: list[ResultInput]) -> str:
    if status == ScreenStatus.MISSED:
        return ScreenOutcome.MISSED
    if status == ScreenStatus.REFUSED:
        return ScreenOutcome.REFUSED
    if any(r.result == SubstanceResult.POSITIVE and not r.prescribed for r in results):
        return ScreenOutcome.POSITIVE
    if any(r.result == SubstanceResult.INCONCLUSIVE for r in results):
        return ScreenOutcome.INCONCLUSIVE
    if any(r.result == SubstanceResult.POSITIVE for r in results):
        return ScreenOutcome.EXPECTED_POSITIVE
    return ScreenOutcome.NEGATIVE


FLAG_OF_OUTCOME: dict[str, str] = {
    ScreenOutcome.POSITIVE: FlagKind.POSITIVE_SCREEN,
    ScreenOutcome.MISSED: FlagKind.MISSED_SCREEN,
    ScreenOutcome.REFUSED: FlagKind.MISSED_SCREEN,
}


def screen_problems(
    *,
    enrollment: Enrollment | None = None,
    collected_on: date | None = None,
    status: str | None = None,
    results: list[ResultInput] | None = None,
    observed: bool | None = None,
    observed_given: bool = False,
) -> dict[str, list[str]]:
    """The rules of a screen on whichever fields are given (None: not given; `observed`
    counts once `observed_given`), by field: the API checks them with its own errors."""
    errors = in_care_problems(enrollment) if enrollment is not None else {}
    if enrollment is not None and collected_on is not None:
        today = enrollment_today(enrollment)
        if collected_on > today:
            errors["collected_on"] = ["Cannot be in the future."]
        elif collected_on < today - timedelta(days=MAX_SCREEN_AGE.days):
            errors["collected_on"] = ["At most a year ago."]
    if status == ScreenStatus.COMPLETED:
        if results is not None:
            if not results:
                errors["results"] = ["List each substance tested and its result."]
            substances = [r.substance for r in results]
            if len(set(substances)) != len(substances):
                errors["results"] = ["Each substance once."]
            if any(r.prescribed and r.result != SubstanceResult.POSITIVE for r in results):
                errors.setdefault("results", []).append("Only a positive result can be prescribed.")
        if observed_given and observed is None:
            errors["observed"] = ["Say whether the collection was observed."]
    elif status is not None:
        if results:
            errors["results"] = [f"A {status} screen has no results."]
        if observed_given and observed is not None:
            errors["observed"] = [f"A {status} screen was not collected."]
    return errors


def screen_record(
    *,
    enrollment: Enrollment,
    actor: User,
    collected_on: date,
    method: str,
    status: str,
    results: list[ResultInput],
    observed: bool | None = None,
    note: str = "",
) -> ScreenRecorded:
    """Record a drug screen and raise its flag (positive, missed or refused), at once."""
    _require_active(enrollment)
    errors = screen_problems(
        enrollment=enrollment,
        collected_on=collected_on,
        status=status,
        results=results,
        observed=observed,
        observed_given=True,
    )
    if errors:
        raise ServiceError(errors)
    now = timezone.now()
    outcome = screen_outcome(status, results)
    with transaction.atomic():
        screen = DrugScreen.objects.create(
            enrollment=enrollment,
            collected_on=collected_on,
            method=method,
            status=status,
            outcome=outcome,
            observed=observed,
            note=note,
            recorded_by=actor,
            recorded_at=now,
        )
        DrugScreenResult.objects.bulk_create(
            [
                DrugScreenResult(
                    screen=screen, substance=r.substance, result=r.result, prescribed=r.prescribed
                )
                for r in results
            ]
        )
        flags: list[Flag] = []
        if outcome in FLAG_OF_OUTCOME:
            flags = flags_raise(
                candidates=[
                    FlagCandidate(
                        enrollment,
                        FLAG_OF_OUTCOME[outcome],
                        f"screen:{screen.id}",
                        _flag_reason(outcome, results),
                    )
                ],
                now=now,
            )
        incentives_screen_recorded(screen=screen, now=now)
    return ScreenRecorded(screen=screen, flags=flags)


def screen_correct(
    *,
    screen: DrugScreen,
    actor: User,
    status: str,
    results: list[ResultInput],
    observed: bool | None = None,
) -> ScreenRecorded:
    """Correct a screen's results (a lab confirmation overturns a cup): the outcome is
    derived again, a newly flagged outcome raises its flag, and a reward the old result
    earned is reversed by a visible ledger entry (`incentives_screen_recorded`)."""
    enrollment = screen.enrollment
    _require_active(enrollment)
    errors = screen_problems(status=status, results=results, observed=observed, observed_given=True)
    if errors:
        raise ServiceError(errors)
    now = timezone.now()
    outcome = screen_outcome(status, results)
    with transaction.atomic():
        screen = DrugScreen.objects.select_for_update().get(id=screen.id)
        screen.status, screen.outcome, screen.observed = status, outcome, observed
        screen.save(update_fields=["status", "outcome", "observed"])
        DrugScreenResult.objects.filter(screen=screen).delete()
        DrugScreenResult.objects.bulk_create(
            [
                DrugScreenResult(
                    screen=screen, substance=r.substance, result=r.result, prescribed=r.prescribed
                )
                for r in results
            ]
        )
        flags: list[Flag] = []
        if outcome in FLAG_OF_OUTCOME:
            flags = flags_raise(
                candidates=[
                    FlagCandidate(
                        enrollment,
                        FLAG_OF_OUTCOME[outcome],
                        f"screen:{screen.id}",
                        _flag_reason(outcome, results),
                    )
                ],
                now=now,
            )
        incentives_screen_recorded(screen=screen, now=now)
    return ScreenRecorded(screen=screen, flags=flags)
