"""The missed check-in sweep: flag every window that closed without a check-in.

It reads only the schedules whose `next_due_at` has passed (a partial index), so its cost
follows the number of patients due, not the number of patients. Claims are atomic (the one
claim helper, notifications.claim): on PostgreSQL rows are locked with SKIP LOCKED, so two
sweepers split the work; on SQLite the transaction holds the write lock. A window is
flagged at most once (unique constraint).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from notifications.claim import claim_rows
from notifications.services import Message, notify_all
from recovery.models import CheckInSchedule, FlagKind, ShareableEvent
from recovery.services.consent import disclosures_queue
from recovery.services.flags import FlagCandidate, flags_raise
from recovery.services.schedules import apply_window
from recovery.services.windows import first_window_after_day

BATCH = 1000


@dataclass
class SweepReport:
    schedules: int = 0
    flags: int = 0
    batches: int = 0


def sweep_missed_checkins(*, now: datetime | None = None, batch_size: int = BATCH) -> SweepReport:
    report = SweepReport()
    while True:
        handled, raised = _sweep_batch(now=now or timezone.now(), limit=batch_size)
        report.schedules += handled
        report.flags += raised
        report.batches += 1 if handled else 0
        if handled < batch_size:
            return report


def _sweep_batch(*, now: datetime, limit: int) -> tuple[int, int]:
    with transaction.atomic():
        schedules = claim_rows(
            CheckInSchedule.objects.filter(next_due_at__lte=now).select_related(
                "enrollment__program"
            ),
            order_by=("next_due_at",),
            limit=limit,
        )
        if not schedules:
            return 0, 0
        candidates: list[FlagCandidate] = []
        nudges: list[Message] = []
        for schedule in schedules:
            enrollment = schedule.enrollment
            day = schedule.next_window_date
            assert day is not None
            schedule.consecutive_missed += 1
            missed = {"window": day.isoformat(), "missed_in_a_row": schedule.consecutive_missed}
            candidates.append(
                FlagCandidate(enrollment, FlagKind.MISSED_CHECKIN, day.isoformat(), missed)
            )
            if schedule.consecutive_missed >= 2:
                candidates.append(
                    FlagCandidate(
                        enrollment, FlagKind.MISSED_CHECKINS_IN_A_ROW, day.isoformat(), missed
                    )
                )
            nudge = apply_window(
                schedule, enrollment, first_window_after_day(schedule, day, enrollment.timezone)
            )
            if nudge is not None:
                nudges.append(nudge)
        _save_advanced(schedules)
        flags = flags_raise(candidates=candidates, now=now)
        notify_all(messages=nudges, now=now)
        for flag in flags:
            if flag.kind == FlagKind.MISSED_CHECKINS_IN_A_ROW:
                disclosures_queue(
                    enrollment=flag.enrollment,
                    event=ShareableEvent.MISSED_CHECKINS_IN_A_ROW,
                    event_key=f"window:{flag.window_key}",
                )
    return len(schedules), len(flags)


def _save_advanced(schedules: list[CheckInSchedule]) -> None:
    """Patients who share a window (same zone and times) advance to the same values, so
    one UPDATE per distinct outcome replaces a CASE with a branch per patient."""
    groups: dict[tuple[object, object, int], list[int]] = defaultdict(list)
    for schedule in schedules:
        outcome = (schedule.next_due_at, schedule.next_window_date, schedule.consecutive_missed)
        groups[outcome].append(schedule.id)
    for (next_due_at, next_window_date, consecutive_missed), ids in groups.items():
        CheckInSchedule.objects.filter(id__in=ids).update(
            next_due_at=next_due_at,
            next_window_date=next_window_date,
            consecutive_missed=consecutive_missed,
        )
