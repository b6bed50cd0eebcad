"""Days since the patient's last reported use, counted in the patient's local days.

A reported use is a check-in that says so, dated on the wall where the patient was when
they sent it (`device_timezone`: a later move does not re-date it), or a positive drug
screen (its collection date). "Today" is the date on the patient's wall now
(`enrollment.timezone`). The count is a difference of calendar dates, so a daylight-saving
night of 23 or 25 hours is one day like any other.

The count starts on the day after the last use, or on the patient's own start date, or on
their first day in the program, whichever is latest; the day of a use counts 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from backend.timezones import local_date
from recovery.dates import enrollment_today
from recovery.models import (
    CheckIn,
    DrugScreen,
    Enrollment,
    RecoveryCounter,
    RecoveryMilestone,
    ScreenOutcome,
)

FIRST_MILESTONES = (1, 7, 30, 60, 90)
EVERY_AFTER = 90
USE_OUTCOMES = (ScreenOutcome.POSITIVE,)


def milestones_up_to(days: int) -> list[int]:
    """1, 7, 30, 60, 90, then every 90 days: those reached by `days`."""
    reached = [m for m in FIRST_MILESTONES if m <= days]
    step = 2 * EVERY_AFTER
    while step <= days:
        reached.append(step)
        step += EVERY_AFTER
    return reached


def next_milestone(days: int) -> int:
    for m in FIRST_MILESTONES:
        if m > days:
            return m
    return (days // EVERY_AFTER + 1) * EVERY_AFTER


def with_last_use(enrollments: Any) -> Any:
    """Enrollments annotated with their last reported use: the latest check-in reporting
    use (its instant and the zone it was sent from) and the latest positive screen."""
    use = CheckIn.objects.filter(enrollment=OuterRef("pk"), used_substance=True).order_by(
        "-device_time", "-id"
    )
    return enrollments.annotate(
        last_use_at=Subquery(use.values("device_time")[:1]),
        last_use_zone=Subquery(use.values("device_timezone")[:1]),
        last_positive_on=Subquery(
            DrugScreen.objects.filter(enrollment=OuterRef("pk"), outcome__in=USE_OUTCOMES)
            .values("enrollment")
            .annotate(m=Max("collected_on"))
            .values("m")[:1]
        ),
    )


def last_use_day(enrollment: Enrollment) -> date | None:
    """The local date of the last reported use (needs `with_last_use` annotations, or
    reads them)."""
    if not hasattr(enrollment, "last_use_at"):
        enrollment = with_last_use(Enrollment.objects.filter(pk=enrollment.pk)).get()
    days: list[date] = []
    at: datetime | None = enrollment.last_use_at  # type: ignore[attr-defined]
    if at is not None:
        zone = enrollment.last_use_zone or enrollment.timezone  # type: ignore[attr-defined]
        days.append(local_date(at, zone))
    if enrollment.last_positive_on is not None:  # type: ignore[attr-defined]
        days.append(enrollment.last_positive_on)  # type: ignore[attr-defined]
    return max(days) if days else None


@dataclass(frozen=True)
class RecoveryCount:
    days: int
    since: date  # the first day of the count
    today: date
    last_use: date | None
    start_date: date | None
    hidden: bool

    @property
    def restarted_by_use(self) -> bool:
        return self.last_use is not None and self.since == self.last_use + timedelta(days=1)


def recovery_count(
    enrollment: Enrollment, *, counter: RecoveryCounter | None = None, now: datetime | None = None
) -> RecoveryCount:
    if counter is None:
        counter = RecoveryCounter.objects.filter(enrollment=enrollment).first()
    today = enrollment_today(enrollment, now or timezone.now())
    use = last_use_day(enrollment)
    start = counter.start_date if counter else None
    candidates = [enrollment.start_date] if start is None else [start]
    if use is not None:
        candidates.append(use + timedelta(days=1))
    since = max(candidates)
    return RecoveryCount(
        days=max((today - since).days + 1, 0),
        since=since,
        today=today,
        last_use=use,
        start_date=start,
        hidden=bool(counter and counter.hidden),
    )


def recovery_view(enrollment: Enrollment, *, for_patient: bool) -> dict[str, Any]:
    """The counter as the patient or their care team sees it, with the milestones reached
    in this count. A patient who hid the counter gets no number (their care team does)."""
    from recovery.services.milestones import RESTART_MESSAGE

    count = recovery_count(enrollment)
    reached = list(
        RecoveryMilestone.objects.filter(enrollment=enrollment).values(
            "days", "reached_on", "streak_start"
        )
    )
    hide = for_patient and count.hidden
    return {
        "hidden": count.hidden,
        "start_date": count.start_date,
        "days": None if hide else count.days,
        "since": None if hide else count.since,
        "next_milestone": None if hide else next_milestone(count.days),
        "message": (
            str(RESTART_MESSAGE) if count.restarted_by_use and count.days <= 1 and not hide else ""
        ),
        "milestones": [] if hide else reached,
    }
