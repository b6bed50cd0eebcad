"""Check-ins and urges: what patients report, and the rules that raise flags from it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from backend.errors import Conflict, NotAllowed, ServiceError
from notifications.services import notify
from recovery.crisis import crisis_resources
from recovery.dates import enrollment_date
from recovery.models import (
    CheckIn,
    Enrollment,
    EnrollmentStatus,
    FlagKind,
    ShareableEvent,
    UrgeEvent,
)
from recovery.notification_kinds import NotificationKind
from recovery.services.consent import disclosures_queue
from recovery.services.flags import FlagCandidate, flags_raise
from recovery.services.incentive_facts import incentives_checkin_recorded
from recovery.services.schedules import schedule_advance_after_checkin

LATE_AFTER = timedelta(minutes=15)


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    message = "This check-in id was already used with different answers."


@dataclass
class CheckInResult:
    checkin: CheckIn
    created: bool
    crisis: bool = False
    flags: list[str] = field(default_factory=list)


def _canonical(value: Any) -> str:
    # The same instant re-sent with another UTC offset is the same check-in.
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def payload_hash(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, default=_canonical, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _local_day_key(enrollment: Enrollment, instant: datetime) -> str:
    return enrollment_date(enrollment, instant).isoformat()


def checkin_problems(
    *,
    enrollment: Enrollment | None = None,
    used_substance: bool | None = None,
    substances: list[str] | None = None,
    medication_taken: bool | None = None,
) -> dict[str, list[str]]:
    """The rules of a check-in's answers on whichever are given (None: not given), by
    field: the API checks them together with its own field errors."""
    errors: dict[str, list[str]] = {}
    if substances and used_substance is not None and not used_substance:
        errors["substances"] = ["Only when used_substance is true."]
    if medication_taken is not None and enrollment is not None and not enrollment.has_medication:
        errors["medication_taken"] = ["No medication is on record for you."]
    return errors


def checkin_submit(
    *, enrollment: Enrollment, client_id: Any, data: dict[str, Any]
) -> CheckInResult:
    """Store a check-in once, however many times the phone retries it.

    The same client id with the same answers returns the stored check-in; with different
    answers it is refused (422). Rules run on the first submission only.
    """
    _require_active(enrollment)
    errors = checkin_problems(
        enrollment=enrollment,
        used_substance=bool(data.get("used_substance")),
        substances=data.get("substances"),
        medication_taken=data.get("medication_taken"),
    )
    if errors:
        raise ServiceError(errors)
    digest = payload_hash({"client_id": str(client_id), **data})
    # No look-up first: the unique constraint tells a retry from a new check-in, which
    # saves a query on every first submission (the common case).
    now = timezone.now()
    device_time: datetime = data["device_time"]
    try:
        with transaction.atomic():
            checkin = CheckIn.objects.create(
                enrollment=enrollment,
                client_id=client_id,
                received_at=now,
                is_late=now - device_time > LATE_AFTER,
                payload_hash=digest,
                **data,
            )
            result = CheckInResult(checkin=checkin, created=True)
            _apply_rules(result, now=now)
            schedule_advance_after_checkin(enrollment=enrollment, at=min(device_time, now))
            incentives_checkin_recorded(checkin=checkin, now=now)
    except IntegrityError:
        # This id was stored before (a retry, or a concurrent one won): answer as a replay.
        existing = CheckIn.objects.filter(enrollment=enrollment, client_id=client_id).first()
        if existing is None:
            raise
        return _replay(existing, digest)
    return result


def _require_active(enrollment: Enrollment) -> None:
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise NotAllowed(
            message="Your program has ended, so check-ins are closed. "
            "For help right now, call or text 988."
        )


def _replay(existing: CheckIn, digest: str) -> CheckInResult:
    if existing.payload_hash != digest:
        raise IdempotencyConflict()
    crisis = bool(existing.self_harm_thoughts)
    return CheckInResult(checkin=existing, created=False, crisis=crisis)


def _apply_rules(result: CheckInResult, *, now: datetime) -> None:
    checkin = result.checkin
    enrollment = checkin.enrollment
    program = enrollment.program
    day = _local_day_key(enrollment, checkin.device_time)
    reasons: dict[str, dict[str, Any]] = {}
    if checkin.craving >= program.craving_threshold:
        reasons[FlagKind.HIGH_CRAVING] = {
            "craving": checkin.craving,
            "threshold": program.craving_threshold,
        }
    if checkin.used_substance:
        reasons[FlagKind.SUBSTANCE_USE] = {"substances": list(checkin.substances)}
    if checkin.self_harm_thoughts:
        reasons[FlagKind.SELF_HARM] = {"self_harm_thoughts": True}
        result.crisis = True
        crisis_resources_send(enrollment=enrollment, key=f"checkin:{checkin.id}", now=now)
    kinds = list(reasons)
    flags_raise(
        candidates=[
            FlagCandidate(enrollment=enrollment, kind=k, window_key=day, reason=reasons[k])
            for k in kinds
        ],
        now=now,
    )
    result.flags = kinds
    for kind in kinds:
        if kind in ShareableEvent.values:
            disclosures_queue(
                enrollment=enrollment,
                event=kind,
                event_key=f"checkin:{checkin.id}",
                substances=list(checkin.substances),
            )


def crisis_resources_send(*, enrollment: Enrollment, key: str, now: datetime) -> None:
    # In the patient's language, whoever's request or job found the crisis.
    with translation.override(enrollment.language):
        notify(
            recipients=[enrollment.patient_id],
            kind=NotificationKind.CRISIS_RESOURCES,
            key=f"crisis:{key}",
            title=_("You are not alone"),
            body=_("Call or text 988 any time. Your care team has been told."),
            payload={"crisis_resources": crisis_resources()},
            due_at=now,
            urgent=True,
        )


@dataclass
class UrgeResult:
    urge: UrgeEvent
    flags: list[str]


def urge_record(
    *, enrollment: Enrollment, intensity: int | None = None, note: str = ""
) -> UrgeResult:
    _require_active(enrollment)
    now = timezone.now()
    with transaction.atomic():
        urge = UrgeEvent.objects.create(
            enrollment=enrollment, intensity=intensity, note=note, occurred_at=now
        )
        flags = flags_raise(
            candidates=[
                FlagCandidate(
                    enrollment=enrollment,
                    kind=FlagKind.URGE,
                    window_key=_local_day_key(enrollment, now),
                    reason={"intensity": intensity},
                )
            ],
            now=now,
        )
        disclosures_queue(
            enrollment=enrollment, event=ShareableEvent.URGE, event_key=f"urge:{urge.id}"
        )
    return UrgeResult(urge=urge, flags=[f.kind for f in flags])
