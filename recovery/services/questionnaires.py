"""Submitting a questionnaire: stored once however often the phone retries (as check-ins
are), scored on the server, and the alert rules run on the first submission only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.errors import NotAllowed, NotFound, ServiceError
from recovery.dates import enrollment_date
from recovery.models import (
    AssignmentSource,
    AssignmentStatus,
    Enrollment,
    EnrollmentStatus,
    FlagKind,
    QuestionnaireResponse,
)
from recovery.questionnaires import Definition
from recovery.questionnaires.scoring import Scored, answers_problems, change_between, score
from recovery.selectors.questionnaires import (
    alerts_hit,
    instrument_definition,
    open_assignment_and_baseline,
)
from recovery.services.checkins import (
    LATE_AFTER,
    IdempotencyConflict,
    crisis_resources_send,
    payload_hash,
)
from recovery.services.flags import FlagCandidate, flags_raise
from recovery.services.incentive_facts import incentives_questionnaire_completed

# Asked after any self-harm answer on another instrument (the default schedule).
CRISIS_FOLLOW_UP = "cssrs_screen"
FLAG_OF_RULE: dict[str, str] = {
    "crisis": FlagKind.SELF_HARM,
    "severe": FlagKind.SEVERE_SCORE,
    "use": FlagKind.QUESTIONNAIRE_USE,
}


class QuestionnaireIdConflict(IdempotencyConflict):
    message = "This questionnaire response id was already used with different answers."


@dataclass
class SubmitResult:
    response: QuestionnaireResponse
    created: bool
    baseline_total: int | None = None  # the patient's first total before this one
    crisis: bool = False
    flags: list[str] = field(default_factory=list)


def _require_active(enrollment: Enrollment) -> None:
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise NotAllowed(
            message="Your program has ended, so questionnaires are closed. "
            "For help right now, call or text 988."
        )


def questionnaire_submit(
    *,
    enrollment: Enrollment,
    client_id: uuid.UUID,
    instrument: str,
    answers: dict[str, Any],
    device_time: datetime,
    device_timezone: str,
) -> SubmitResult:
    """Store and score a complete questionnaire once. The same client id with the same
    answers returns the first response; with other answers it is refused (422). Partial
    answers are refused with an error per item."""
    _require_active(enrollment)
    definition = instrument_definition(program_id=enrollment.program_id, code=instrument)
    if definition is None:
        raise NotFound(message="No such questionnaire.")
    problems = answers_problems(definition, answers)
    if problems:
        raise ServiceError({f"answers.{key}": value for key, value in problems.items()})
    digest = payload_hash(
        {
            "client_id": str(client_id),
            "instrument": instrument,
            "answers": answers,
            "device_time": device_time,
            "device_timezone": device_timezone,
        }
    )
    scored = score(definition, answers)
    now = timezone.now()
    try:
        with transaction.atomic():
            result = _store(
                enrollment=enrollment,
                definition=definition,
                scored=scored,
                client_id=client_id,
                answers=answers,
                device_time=device_time,
                device_timezone=device_timezone,
                digest=digest,
                now=now,
            )
            _apply_rules(result, definition=definition, now=now)
            _reward_completion(result.response, now=now)
    except IntegrityError:
        existing = QuestionnaireResponse.objects.filter(
            enrollment=enrollment, client_id=client_id
        ).first()
        if existing is None:
            raise
        if existing.payload_hash != digest:
            raise QuestionnaireIdConflict() from None
        existing.enrollment = enrollment  # the caller's, with its program and settings
        return SubmitResult(response=existing, created=False, crisis=_is_crisis(existing))
    return result


def _reward_completion(response: QuestionnaireResponse, *, now: datetime) -> None:
    """Contingency management: a questionnaire the program assigned, completed in its
    window, earns once per assignment (answering unassigned ones earns nothing)."""
    if response.assignment_id is None or response.is_late:
        return
    incentives_questionnaire_completed(
        enrollment=response.enrollment,
        assignment_id=response.assignment_id,
        completed_on=enrollment_date(response.enrollment, response.device_time),
        now=now,
    )


def _store(
    *,
    enrollment: Enrollment,
    definition: Definition,
    scored: Scored,
    client_id: uuid.UUID,
    answers: dict[str, Any],
    device_time: datetime,
    device_timezone: str,
    digest: str,
    now: datetime,
) -> SubmitResult:
    code = definition["code"]
    assignment, baseline_total = open_assignment_and_baseline(
        enrollment=enrollment, instrument=code, at=device_time
    )
    # Late: sent long after it was answered, or answered after its window closed (kept,
    # and the missed questionnaire stays counted as missed).
    late = now - device_time > LATE_AFTER or (
        assignment is not None and device_time >= assignment.closes_at
    )
    language = enrollment.language
    response = QuestionnaireResponse.objects.create(
        enrollment=enrollment,
        assignment=assignment,
        instrument=code,
        instrument_version=definition["version"],
        language=language if language in definition["languages"] else definition["languages"][0],
        client_id=client_id,
        answers=answers,
        item_scores=scored.item_scores,
        scales=scored.scales,
        bands=scored.bands,
        total=scored.total,
        band=scored.band,
        device_time=device_time,
        device_timezone=device_timezone,
        received_at=now,
        is_late=late,
        payload_hash=digest,
    )
    if assignment is not None and assignment.status == AssignmentStatus.DUE:
        assignment.status = AssignmentStatus.COMPLETED
        assignment.completed_at = now
        assignment.save(update_fields=["status", "completed_at"])
    return SubmitResult(response=response, created=True, baseline_total=baseline_total)


def _is_crisis(response: QuestionnaireResponse) -> bool:
    definition = instrument_definition(
        program_id=response.enrollment.program_id, code=response.instrument
    )
    if definition is None:
        return False
    return "crisis" in _rules_hit(response, definition)


def _rules_hit(response: QuestionnaireResponse, definition: Definition) -> list[str]:
    enrollment = response.enrollment
    return alerts_hit(
        item_scores=response.item_scores,
        scales=response.scales,
        definition=definition,
        program_id=enrollment.program_id,
        program=enrollment.program,
    )


def _worsened(result: SubmitResult, definition: Definition) -> bool:
    """Worse than the patient's baseline (their first response) by the reliable change."""
    if result.baseline_total is None:
        return False
    change = change_between(definition, result.baseline_total, result.response.total)
    return change is not None and change.reliable_worsening


def _apply_rules(result: SubmitResult, *, definition: Definition, now: datetime) -> None:
    response = result.response
    enrollment = response.enrollment
    day = enrollment_date(enrollment, response.device_time).isoformat()
    rules = _rules_hit(response, definition)
    kinds: list[str] = [FLAG_OF_RULE[rule] for rule in rules]
    if _worsened(result, definition):
        kinds.append(FlagKind.SCORE_WORSENING)
    candidates = [
        # The self-harm flag shares the check-in's daily window: one crisis a day to act on.
        FlagCandidate(
            enrollment=enrollment,
            kind=kind,
            window_key=day if kind == FlagKind.SELF_HARM else f"{response.instrument}:{day}",
            reason={"instrument": response.instrument, "total": response.total},
        )
        for kind in kinds
    ]
    flags_raise(candidates=candidates, now=now)
    result.flags = kinds
    if "crisis" in rules:
        result.crisis = True
        crisis_resources_send(enrollment=enrollment, key=f"questionnaire:{response.id}", now=now)
        if response.instrument != CRISIS_FOLLOW_UP:
            from recovery.services.questionnaire_schedules import questionnaire_assign

            questionnaire_assign(
                enrollment=enrollment,
                instrument=CRISIS_FOLLOW_UP,
                source=AssignmentSource.RULE,
                now=now,
            )
