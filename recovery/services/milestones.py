"""Recovery milestones and the patient's counter settings.

Milestones are found by a periodic job (`recovery_milestones_detect`, hourly in
backend/schedule.py), not on check-in: a milestone is reached by the passing of a local
midnight, which no request marks (a patient who stops checking in still reaches day 30),
and the hourly job reaches every patient within an hour of their own midnight whatever
their zone. Each milestone is recorded once per count (a unique row), so a re-run, or two
schedulers, celebrate nothing twice. A count that restarted after a reported use gets one
supportive message; the care team sees the lapse as before (the check-in's flag, the
screen), and sees every milestone.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backend.errors import Conflict, ServiceError
from notifications.services import notify
from recovery.dates import patient_daytime
from recovery.models import (
    Enrollment,
    EnrollmentStatus,
    RecoveryCounter,
    RecoveryMilestone,
)
from recovery.notification_kinds import CARE_TEAM, NotificationKind
from recovery.selectors.recovery_days import milestones_up_to, recovery_count, with_last_use

RESTART_MESSAGE = _(
    "A slip does not erase your progress. Your count starts again today, and everything "
    "you have learned still counts. Your care team is here if you want to talk."
)


def _counter(enrollment: Enrollment) -> RecoveryCounter:
    counter, _created = RecoveryCounter.objects.get_or_create(enrollment=enrollment)
    return counter


def recovery_counter_set(
    *,
    enrollment: Enrollment,
    start_date: date | None = None,
    hidden: bool | None = None,
    now: datetime | None = None,
) -> RecoveryCounter:
    """The patient's own start date (once, not in the future) and whether they see the
    counter at all."""
    with transaction.atomic():
        counter = RecoveryCounter.objects.select_for_update().get(pk=_counter(enrollment).pk)
        if start_date is not None:
            if counter.start_date is not None:
                raise Conflict(
                    {"start_date": [str(_("Your start date is already set."))]},
                    message=str(_("Your start date is already set.")),
                )
            if start_date > recovery_count(enrollment, counter=counter, now=now).today:
                raise ServiceError({"start_date": [str(_("Cannot be in the future."))]})
            counter.start_date = start_date
        if hidden is not None:
            counter.hidden = hidden
        counter.save()
    return counter


def _celebrate(enrollment: Enrollment, counter: RecoveryCounter, days: int, since: date) -> None:
    payload = {"enrollment_id": enrollment.id, "days": days}
    key = f"milestone:{enrollment.id}:{since.isoformat()}:{days}"
    if not counter.hidden:
        # In the patient's language: this runs in an hourly job, not in their request.
        with translation.override(enrollment.language):
            notify(
                recipients=[enrollment.patient_id],
                kind=NotificationKind.RECOVERY_MILESTONE,
                key=key,
                due_at=patient_daytime(enrollment, timezone.now()),
                payload=payload,
                title=str(_("A milestone")),
                body=ngettext(
                    "%(days)d day. Every day counts: well done.",
                    "%(days)d days. Every day counts: well done.",
                    days,
                )
                % {"days": days},
            )
    notify(
        staff=[(CARE_TEAM, enrollment.id)],
        kind=NotificationKind.RECOVERY_MILESTONE,
        key=key,
        payload=payload,
        title="Recovery milestone",
        body=f"A patient on your caseload reached {days} days.",
    )


def _restart(enrollment: Enrollment, counter: RecoveryCounter, since: date) -> None:
    if counter.hidden:
        return
    with translation.override(enrollment.language):
        notify(
            recipients=[enrollment.patient_id],
            kind=NotificationKind.RECOVERY_RESTART,
            key=f"recovery-restart:{enrollment.id}:{since.isoformat()}",
            due_at=patient_daytime(enrollment, timezone.now()),
            payload={"enrollment_id": enrollment.id},
            title=str(_("We are with you")),
            body=str(RESTART_MESSAGE),
        )


def recovery_milestones_detect(*, now: datetime | None = None) -> int:
    """Record and announce the milestones every active patient has reached (the highest
    one newly reached is announced; lower ones reached at the same time, say after a start
    date set 100 days back, are recorded quietly). Returns how many were announced."""
    now = now or timezone.now()
    announced = 0
    enrollments = with_last_use(
        Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE).select_related("recovery_counter")
    )
    # What was already celebrated, read once: the hourly run writes only what is new.
    known: dict[tuple[int, date], set[int]] = defaultdict(set)
    for enrollment_id, streak_start, days in RecoveryMilestone.objects.filter(
        enrollment__status=EnrollmentStatus.ACTIVE
    ).values_list("enrollment_id", "streak_start", "days"):
        known[(enrollment_id, streak_start)].add(days)
    for enrollment in enrollments.iterator(chunk_size=500):
        counter = getattr(enrollment, "recovery_counter", None) or _counter(enrollment)
        count = recovery_count(enrollment, counter=counter, now=now)
        celebrated = known[(enrollment.id, count.since)]
        due = [d for d in milestones_up_to(count.days) if d not in celebrated]
        if counter.streak_start == count.since and not due:
            continue
        with transaction.atomic():
            if counter.streak_start != count.since:
                restarted = counter.streak_start is not None and count.restarted_by_use
                counter.streak_start = count.since
                counter.save(update_fields=["streak_start"])
                if restarted:
                    _restart(enrollment, counter, count.since)
            new = [days for days in due if _record(enrollment, count.since, days, count.today, now)]
            if new:
                _celebrate(enrollment, counter, max(new), count.since)
                announced += 1
    return announced


def _record(enrollment: Enrollment, since: date, days: int, today: date, now: datetime) -> bool:
    """Whether this milestone is new (recorded now)."""
    try:
        with transaction.atomic():
            _row, created = RecoveryMilestone.objects.get_or_create(
                enrollment=enrollment,
                streak_start=since,
                days=days,
                defaults={"reached_on": today, "created_at": now},
            )
    except IntegrityError:
        return False
    return created
