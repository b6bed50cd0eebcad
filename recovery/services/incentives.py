"""Earning in contingency management: a recorded fact is judged once per protocol, and
what it earns goes to the patient's append-only ledger at once.

The hooks of `recovery.services.incentive_facts` (screens, attendance, check-ins) run
inside the transaction that records the fact. A fact recorded again (a retry, two
writers at once) finds its outcome and earns nothing more: the outcome is unique per
protocol, patient and fact. A corrected fact is judged again: a success that no longer
holds is reversed by a ledger entry of its own, never edited.

Questionnaires: `questionnaire_submit` calls `incentives_questionnaire_completed` when a
response completes an assigned questionnaire in its window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notifications.services import Message, notify_all
from recovery.models import (
    Enrollment,
    EntryKind,
    IncentiveEntry,
    IncentiveOutcome,
    IncentiveProtocol,
    IncentiveSettings,
    IncentiveStanding,
    OutcomeResult,
    Program,
    Schedule,
)
from recovery.notification_kinds import NotificationKind
from recovery.services.incentive_schedules import (
    SECURE,
    Ladder,
    RandomSource,
    Standing,
    after_miss,
    after_success,
    draw,
)

Verdict = str | None  # OutcomeResult.SUCCESS, OutcomeResult.MISS, or not this protocol's


@dataclass(frozen=True)
class Fact:
    """Something the backend recorded, and how each protocol of its behaviour judges it."""

    enrollment: Enrollment
    behaviour: str
    key: str
    occurred_on: date
    verdict: Callable[[IncentiveProtocol], Verdict]


def settings_for(program: Program) -> IncentiveSettings:
    found, _ = IncentiveSettings.objects.get_or_create(program=program)
    return found


def ladder_of(protocol: IncentiveProtocol) -> Ladder:
    return Ladder(protocol.start, protocol.step, protocol.maximum, protocol.return_after)


# --- the room left under the caps ---------------------------------------------------------


def _net(**filters: object) -> int:
    total = (
        IncentiveEntry.objects.filter(
            kind__in=[EntryKind.EARNED, EntryKind.DRAWN, EntryKind.REVERSED], **filters
        ).aggregate(total=Sum("amount_cents"))["total"]
        or 0
    )
    return int(total)


def room_left(enrollment: Enrollment, year: int) -> tuple[int, str]:
    """How many cents this patient may still earn in `year`, and which cap binds."""
    caps = settings_for(enrollment.program)
    patient_room = caps.patient_year_cap_cents - _net(enrollment=enrollment, year=year)
    if caps.year_budget_cents is None:
        return max(patient_room, 0), "patient"
    budget_room = caps.year_budget_cents - _net(enrollment__program=enrollment.program, year=year)
    if budget_room < patient_room:
        return max(budget_room, 0), "budget"
    return max(patient_room, 0), "patient"


# --- judging a fact -----------------------------------------------------------------------


def incentives_fact_recorded(
    *, fact: Fact, now: datetime | None = None, source: RandomSource = SECURE
) -> list[IncentiveOutcome]:
    """Judge a new or corrected fact for every active protocol of its behaviour that had
    started by the fact's day. Returns the outcomes written or changed."""
    now = now or timezone.now()
    judged_before = IncentiveOutcome.objects.filter(
        enrollment=fact.enrollment, fact_key=fact.key
    ).values("protocol_id")
    # A protocol ended since still sees its facts corrected (a reversal is never skipped).
    protocols = (
        IncentiveProtocol.objects.filter(
            program_id=fact.enrollment.program_id, behaviour=fact.behaviour
        )
        .filter(Q(active=True, started_on__lte=fact.occurred_on) | Q(id__in=judged_before))
        .prefetch_related("bowl")
    )
    changed: list[IncentiveOutcome] = []
    for protocol in protocols:
        verdict = fact.verdict(protocol)
        with transaction.atomic():
            outcome = _judge(protocol, fact, verdict, now, source)
        if outcome is not None:
            changed.append(outcome)
    return changed


def _judge(
    protocol: IncentiveProtocol, fact: Fact, verdict: Verdict, now: datetime, source: RandomSource
) -> IncentiveOutcome | None:
    enrollment = fact.enrollment
    # The standing's row lock makes one patient's facts on one protocol wait for each other.
    IncentiveStanding.objects.get_or_create(protocol=protocol, enrollment=enrollment)
    row = IncentiveStanding.objects.select_for_update().get(
        protocol=protocol, enrollment=enrollment
    )
    standing = Standing(row.level, row.saved_level, row.run)
    existing = IncentiveOutcome.objects.filter(
        protocol=protocol, enrollment=enrollment, fact_key=fact.key
    ).first()
    if existing is not None:
        return _rejudge(protocol, existing, verdict, row, standing, now, source)
    if verdict is None:
        return None
    try:
        with transaction.atomic():
            outcome = IncentiveOutcome.objects.create(
                protocol=protocol,
                enrollment=enrollment,
                fact_key=fact.key,
                occurred_on=fact.occurred_on,
                result=verdict,
                recorded_at=now,
            )
    except IntegrityError:
        return None  # judged by a concurrent writer
    if verdict == OutcomeResult.SUCCESS:
        standing = _pay(protocol, outcome, standing, now, source)
    else:
        standing = after_miss(standing)
    _save_standing(row, standing)
    return outcome


def _rejudge(
    protocol: IncentiveProtocol,
    outcome: IncentiveOutcome,
    verdict: Verdict,
    row: IncentiveStanding,
    standing: Standing,
    now: datetime,
    source: RandomSource,
) -> IncentiveOutcome | None:
    """A fact judged before was recorded again, perhaps corrected."""
    was_success = outcome.result == OutcomeResult.SUCCESS and outcome.reversed_at is None
    if (verdict == OutcomeResult.SUCCESS) == was_success:
        return None  # the same fact again: earned once already, or a miss still
    if was_success:
        _reverse(outcome, now)
        outcome.result = verdict or OutcomeResult.MISS
        outcome.save(update_fields=["result", "reversed_at"])
        if verdict == OutcomeResult.MISS:
            _save_standing(row, after_miss(standing))
        return outcome
    # A miss corrected to a success earns at the patient's level now; the reset it caused
    # stays (undoing it would re-price every later success).
    outcome.result = OutcomeResult.SUCCESS
    outcome.reversed_at = None
    outcome.save(update_fields=["result", "reversed_at"])
    _save_standing(row, _pay(protocol, outcome, standing, now, source))
    return outcome


def _save_standing(row: IncentiveStanding, standing: Standing) -> None:
    row.level, row.saved_level, row.run = standing.level, standing.saved_level, standing.run
    row.save(update_fields=["level", "saved_level", "run"])


def _pay(
    protocol: IncentiveProtocol,
    outcome: IncentiveOutcome,
    standing: Standing,
    now: datetime,
    source: RandomSource,
) -> Standing:
    level, after = after_success(ladder_of(protocol), standing)
    worth = ladder_of(protocol).worth(level)
    enrollment = outcome.enrollment
    year = outcome.occurred_on.year
    # The program's budget is shared by its patients: their earnings wait for each other.
    settings_for(enrollment.program)
    IncentiveSettings.objects.select_for_update().filter(program_id=enrollment.program_id).first()
    room, binding = room_left(enrollment, year)
    entries: list[IncentiveEntry] = []
    wanted = 0
    if protocol.schedule == Schedule.ESCALATING:
        wanted = worth
        entries.append(_entry(outcome, EntryKind.EARNED, min(worth, room), protocol.name, now))
    else:
        bowl = list(protocol.bowl.all())
        for _ in range(worth):
            slot = draw(bowl, source)
            wanted += slot.value_cents
            amount = min(slot.value_cents, room)
            room -= amount
            entries.append(_entry(outcome, EntryKind.DRAWN, amount, slot.label, now))
    IncentiveEntry.objects.bulk_create(entries)
    paid = sum(e.amount_cents for e in entries)
    outcome.level = level
    outcome.value_cents = paid
    outcome.withheld_cents = wanted - paid
    outcome.save(update_fields=["level", "value_cents", "withheld_cents"])
    _tell_patient(outcome, paid=paid, withheld=wanted - paid, binding=binding, now=now)
    return after


def _entry(
    outcome: IncentiveOutcome, kind: str, amount: int, label: str, now: datetime
) -> IncentiveEntry:
    return IncentiveEntry(
        enrollment=outcome.enrollment,
        kind=kind,
        amount_cents=amount,
        outcome=outcome,
        label=label[:120],
        year=outcome.occurred_on.year,
        at=now,
    )


def _reverse(outcome: IncentiveOutcome, now: datetime) -> None:
    earned = _net(outcome=outcome)
    IncentiveEntry.objects.create(
        enrollment=outcome.enrollment,
        kind=EntryKind.REVERSED,
        amount_cents=-earned,
        outcome=outcome,
        label="Corrected record",
        year=outcome.occurred_on.year,
        at=now,
    )
    outcome.reversed_at = now
    with translation.override(outcome.enrollment.language):
        title = _("Reward corrected")
        body = _("A record was corrected, so a reward was taken back. Your counselor can explain.")
    _notify(
        key=f"cm-reversed:{outcome.id}:{now.isoformat()}",
        recipients=[outcome.enrollment.patient_id],
        title=title,
        body=body,
        payload={"incentive": "reversed", "outcome": outcome.id, "amount_cents": -earned},
        now=now,
    )


def _tell_patient(
    outcome: IncentiveOutcome, *, paid: int, withheld: int, binding: str, now: datetime
) -> None:
    cap_reached = withheld > 0
    amount = {"amount": f"{paid / 100:.2f}"}
    with translation.override(outcome.enrollment.language):
        title = _("Reward earned")
        if cap_reached and paid == 0:
            body = _("You did it! The yearly reward limit is reached, so no value was added.")
        elif cap_reached:
            body = _("You earned $%(amount)s; the yearly reward limit is now reached.") % amount
        else:
            body = _("You earned $%(amount)s. Keep going!") % amount
    _notify(
        key=f"cm-earned:{outcome.id}:{now.isoformat()}",
        recipients=[outcome.enrollment.patient_id],
        title=title,
        body=body,
        payload={
            "incentive": "earned",
            "outcome": outcome.id,
            "amount_cents": paid,
            "cap_reached": cap_reached,
            "cap": binding if cap_reached else None,
        },
        now=now,
    )


def _notify(
    *,
    key: str,
    recipients: list[int],
    title: str,
    body: str,
    payload: dict[str, object],
    now: datetime,
) -> None:
    """The inbox text stays in the app; a push shows only the kind's generic words."""
    message = Message(
        kind=NotificationKind.INCENTIVE,
        key=key,
        recipients=recipients,
        title=title,
        body=body,
        payload=payload,
    )
    notify_all(messages=[message], now=now)
