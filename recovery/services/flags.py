"""Raising flags and their life: acknowledge, assign, resolve, reopen, escalate."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from backend import metrics
from backend.errors import NotAllowed, ServiceError
from notifications.claim import claim_rows
from notifications.services import Message, notify_all
from recovery.models import (
    Enrollment,
    Flag,
    FlagEvent,
    FlagKind,
    FlagResolution,
    FlagStatus,
    Severity,
    User,
)
from recovery.notification_kinds import CARE_TEAM, PROGRAM_SUPERVISORS, NotificationKind
from recovery.selectors.access import assignable_staff, may_act_on_flag

SEVERITY_OF: dict[str, int] = {
    FlagKind.MISSED_CHECKIN: Severity.WARNING,
    FlagKind.MISSED_CHECKINS_IN_A_ROW: Severity.URGENT,
    FlagKind.HIGH_CRAVING: Severity.WARNING,
    FlagKind.SUBSTANCE_USE: Severity.URGENT,
    FlagKind.URGE: Severity.WARNING,
    FlagKind.SELF_HARM: Severity.CRISIS,
    FlagKind.POSITIVE_SCREEN: Severity.URGENT,
    FlagKind.MISSED_SCREEN: Severity.WARNING,
    FlagKind.MISSED_MEDICATION: Severity.WARNING,
    FlagKind.SEVERE_SCORE: Severity.WARNING,
    FlagKind.SCORE_WORSENING: Severity.WARNING,
    FlagKind.QUESTIONNAIRE_USE: Severity.WARNING,
}


@dataclass(frozen=True)
class FlagCandidate:
    enrollment: Enrollment
    kind: str
    window_key: str
    reason: dict[str, Any] = field(default_factory=dict)  # what fired it (`Flag.reason`)


def _escalate_at(enrollment: Enrollment, severity: int, now: datetime) -> datetime:
    program = enrollment.program
    minutes = (
        program.crisis_escalation_delay_minutes
        if severity >= Severity.CRISIS
        else program.escalation_delay_minutes
    )
    return now + timedelta(minutes=minutes)


def flags_shift_escalation(*, program_id: int, crisis: bool, by: timedelta) -> int:
    """The program's escalation delay (for crises, or for the rest) changed by `by`: open
    flags not yet escalated escalate that much later or sooner (one already due is
    escalated by the next sweep)."""
    severity = Q(severity__gte=Severity.CRISIS) if crisis else Q(severity__lt=Severity.CRISIS)
    waiting = Flag.objects.filter(
        severity,
        enrollment__program_id=program_id,
        status=FlagStatus.OPEN,
        escalate_at__isnull=False,
    )
    return waiting.update(escalate_at=F("escalate_at") + by)


def flags_raise(*, candidates: list[FlagCandidate], now: datetime) -> list[Flag]:
    """Raise flags, one per patient, kind and window; return those that are new.

    Existing flags are left alone (the unique constraint makes a race harmless). Each new
    flag notifies the patient's care team and the program's supervisors at once (the
    supervisors' phones only for a crisis). Must run inside the caller's transaction.
    """
    if not candidates:
        return []
    keys = {(c.enrollment.id, c.kind, c.window_key) for c in candidates}
    existing = _keys_present(keys)
    fresh = [c for c in candidates if (c.enrollment.id, c.kind, c.window_key) not in existing]
    if not fresh:
        return []
    Flag.objects.bulk_create(
        [
            Flag(
                enrollment=c.enrollment,
                kind=c.kind,
                severity=SEVERITY_OF[c.kind],
                window_key=c.window_key,
                reason=c.reason,
                assigned_to_id=c.enrollment.primary_counselor_id,
                escalate_at=_escalate_at(c.enrollment, SEVERITY_OF[c.kind], now),
                created_at=now,
            )
            for c in fresh
        ],
        ignore_conflicts=True,
    )
    fresh_keys = {(c.enrollment.id, c.kind, c.window_key) for c in fresh}
    created = (
        _matching(fresh_keys)
        .filter(created_at=now)
        .select_related("enrollment")
        .annotate(assignee_active=F("assigned_to__is_active"))
    )
    matched = [f for f in created if (f.enrollment_id, f.kind, f.window_key) in fresh_keys]
    # A deactivated primary counselor can never acknowledge: such flags start unassigned
    # (one more statement only then; the join costs the usual path none).
    orphaned = {f.id for f in matched if f.assigned_to_id and not f.assignee_active}
    if orphaned:
        Flag.objects.filter(id__in=orphaned).update(assigned_to=None)
    flags: list[Flag] = []
    for flag in matched:
        if flag.id in orphaned:
            flag.assigned_to_id = None
        flags.append(flag)
    FlagEvent.objects.bulk_create(
        [FlagEvent(flag=f, action=FlagEvent.Action.RAISED, at=now) for f in flags]
    )
    _notify_staff(flags, now=now)
    metrics.count_flags_raised(f.kind for f in flags)
    return flags


def _matching(keys: set[tuple[int, str, str]]) -> QuerySet[Flag]:
    """Flags that may have one of these keys: three IN lists, narrowed in Python by the
    callers. (An OR of one clause per key overflows SQLite's expression depth at about a
    thousand keys, which one sweep batch reaches.)"""
    return Flag.objects.filter(
        enrollment_id__in={k[0] for k in keys},
        kind__in={k[1] for k in keys},
        window_key__in={k[2] for k in keys},
    )


def _keys_present(keys: set[tuple[int, str, str]]) -> set[tuple[int, str, str]]:
    found = _matching(keys).values_list("enrollment_id", "kind", "window_key")
    return {key for key in found if key in keys}


def _flag_payload(flag: Flag) -> dict[str, object]:
    return {
        "flag_id": flag.id,
        "patient_id": flag.enrollment.patient_id,
        "enrollment_id": flag.enrollment_id,
        "kind": flag.kind,
        "severity": flag.severity,
        "severity_label": Severity(flag.severity).label,
        "window": flag.window_key,
        "created_at": flag.created_at.isoformat(),
    }


def _notify_staff(flags: list[Flag], *, now: datetime, escalation: bool = False) -> None:
    """A new flag: the care team, and the supervisors who watch the whole program (on
    their phones only for a crisis). An escalation: the supervisors. One row per person,
    so every alert is in each one's inbox and replayed after a reconnect."""
    kind = NotificationKind.FLAG_ESCALATED if escalation else NotificationKind.FLAG_RAISED

    def message(flag: Flag, staff: tuple[str, int], *, push: bool) -> Message:
        return Message(
            kind=kind,
            key=f"{kind}:{flag.id}",
            staff=[staff],
            topic=f"flag:{flag.id}",
            urgent=flag.severity >= Severity.URGENT or escalation,
            title=("Escalated: " if escalation else "") + FlagKind(flag.kind).label,
            body=f"{Severity(flag.severity).label} alert for a patient on your caseload.",
            payload=_flag_payload(flag),
            due_at=now,
            push=push,
        )

    messages = []
    for flag in flags:
        if not escalation:
            messages.append(message(flag, (CARE_TEAM, flag.enrollment_id), push=True))
        supervisors = (PROGRAM_SUPERVISORS, flag.enrollment.program_id)
        messages.append(
            message(flag, supervisors, push=escalation or flag.severity >= Severity.CRISIS)
        )
    notify_all(messages=messages, now=now)


def flags_escalate_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Escalate, once, every open flag nobody acknowledged within the program's delay."""
    now = now or timezone.now()
    escalated = 0
    while True:
        with transaction.atomic():
            flags = claim_rows(
                Flag.objects.filter(escalate_at__lte=now, status=FlagStatus.OPEN).select_related(
                    "enrollment"
                ),
                order_by=("escalate_at",),
                limit=limit,
                stamp={"escalate_at": None, "escalated_at": now},
            )
            if not flags:
                return escalated
            FlagEvent.objects.bulk_create(
                [FlagEvent(flag=f, action=FlagEvent.Action.ESCALATED, at=now) for f in flags]
            )
            _notify_staff(flags, now=now, escalation=True)
            escalated += len(flags)
        if len(flags) < limit:
            return escalated


def _transition(flag: Flag, *, action: str, actor: User, note: str = "") -> Flag:
    """Record what was done and tell every dashboard that shows the flag (its care team and
    the program's supervisors, the actor's other tabs too): the open queues and toasts
    follow. Queued in the caller's transaction, delivered after it commits."""
    now = timezone.now()
    event = FlagEvent.objects.create(flag=flag, action=action, actor=actor, note=note, at=now)
    kind = NotificationKind.FLAG_CHANGED
    payload = {
        "flag_id": flag.id,
        "enrollment_id": flag.enrollment_id,
        "status": flag.status,
        "action": action,
        "assigned_to": flag.assigned_to_id,
    }
    staff = [(CARE_TEAM, flag.enrollment_id), (PROGRAM_SUPERVISORS, flag.enrollment.program_id)]
    message = Message(
        kind=kind,
        key=f"{kind}:{flag.id}:{event.id}",
        staff=staff,
        title=f"{FlagKind(flag.kind).label}: {FlagEvent.Action(action).label.lower()}",
        payload=payload,
        due_at=now,
        push=False,
    )
    notify_all(messages=[message], now=now)
    return flag


def _refuse_unless_in_reach(flag: Flag, actor: User) -> None:
    """The service checks who acts itself, whatever its caller checked: the staff who see
    the flag (its patient in their reach) and nobody else."""
    if not may_act_on_flag(actor, flag):
        raise NotAllowed(message="Only staff caring for the patient can act on this flag.")


@transaction.atomic
def _lock(flag: Flag) -> None:
    """Re-read the flag under a row lock, so that two people acting on it at once, or a
    person and the escalation job, see each other's change instead of overwriting it."""
    flag.refresh_from_db(from_queryset=Flag.objects.select_for_update())


@transaction.atomic
def flag_acknowledge(*, flag: Flag, actor: User) -> Flag:
    _refuse_unless_in_reach(flag, actor)
    _lock(flag)
    if flag.status != FlagStatus.OPEN:
        raise ServiceError({"status": [f"A {flag.status} flag cannot be acknowledged."]})
    first = flag.acknowledged_at is None
    flag.status = FlagStatus.ACKNOWLEDGED
    flag.acknowledged_by = actor
    flag.acknowledged_at = now = timezone.now()
    flag.escalate_at = None
    flag.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "escalate_at"])
    if first:
        metrics.observe_first_acknowledgement(
            severity=Severity(flag.severity).label, after=now - flag.created_at
        )
    return _transition(flag, action=FlagEvent.Action.ACKNOWLEDGED, actor=actor)


def flag_assign_problems(*, flag: Flag, assignee_id: int | None = None) -> dict[str, list[str]]:
    """Whether the flag may go to `assignee_id`, by field."""
    program_id = flag.enrollment.program_id
    if (
        assignee_id is not None
        and not assignable_staff(program_id=program_id).filter(id=assignee_id).exists()
    ):
        return {"assignee": ["Not a counselor of this program."]}
    return {}


@transaction.atomic
def flag_assign(*, flag: Flag, actor: User, assignee_id: int) -> Flag:
    """Assign to a staff member of the flag's own program (whoever the caller is)."""
    _refuse_unless_in_reach(flag, actor)
    program_id = flag.enrollment.program_id
    errors = flag_assign_problems(flag=flag, assignee_id=assignee_id)
    if errors:
        raise ServiceError(errors)
    assignee = assignable_staff(program_id=program_id).get(id=assignee_id)
    flag.assigned_to = assignee
    flag.save(update_fields=["assigned_to"])
    return _transition(
        flag, action=FlagEvent.Action.ASSIGNED, actor=actor, note=f"assigned to user {assignee.id}"
    )


def flag_resolve_problems(*, flag: Flag, outcome_note: str | None = None) -> dict[str, list[str]]:
    """Whether the flag may be resolved with `outcome_note` (None: not given), by field."""
    errors: dict[str, list[str]] = {}
    if flag.status == FlagStatus.RESOLVED:
        errors["status"] = ["The flag is already resolved."]
    if outcome_note is not None and not outcome_note.strip():
        errors["outcome_note"] = ["Say what was done."]
    return errors


@transaction.atomic
def flag_resolve(
    *,
    flag: Flag,
    actor: User,
    outcome_note: str,
    resolution: str = FlagResolution.ACTION_TAKEN,
) -> Flag:
    """`resolution`: whether anything was done ("no_action_needed" counts toward alert
    fatigue in the flags report)."""
    _refuse_unless_in_reach(flag, actor)
    _lock(flag)
    errors = flag_resolve_problems(flag=flag, outcome_note=outcome_note)
    if errors:
        raise ServiceError(errors)
    now = timezone.now()
    if flag.acknowledged_at is None:
        flag.acknowledged_by, flag.acknowledged_at = actor, now
        metrics.observe_first_acknowledgement(
            severity=Severity(flag.severity).label, after=now - flag.created_at
        )
    flag.status = FlagStatus.RESOLVED
    flag.resolved_by = actor
    flag.resolved_at = now
    flag.outcome_note = outcome_note
    flag.resolution = FlagResolution(resolution)
    flag.escalate_at = None
    flag.save()
    return _transition(flag, action=FlagEvent.Action.RESOLVED, actor=actor, note=outcome_note)


def flag_reopen_problems(*, flag: Flag) -> dict[str, list[str]]:
    if flag.status != FlagStatus.RESOLVED:
        return {"status": ["Only a resolved flag can be reopened."]}
    return {}


@transaction.atomic
def flag_reopen(*, flag: Flag, actor: User, note: str = "") -> Flag:
    _refuse_unless_in_reach(flag, actor)
    _lock(flag)
    errors = flag_reopen_problems(flag=flag)
    if errors:
        raise ServiceError(errors)
    flag.status = FlagStatus.OPEN
    flag.resolved_by = None
    flag.resolved_at = None
    flag.resolution = ""
    if flag.escalated_at is None:
        flag.escalate_at = _escalate_at(flag.enrollment, flag.severity, timezone.now())
    flag.save()
    return _transition(flag, action=FlagEvent.Action.REOPENED, actor=actor, note=note)
