"""Check-in schedules: setting them, and keeping `next_due_at` right.

`next_due_at` is the deadline of the next window the patient has not satisfied. It moves
forward when a check-in lands inside that window, when the sweep flags it as missed, and
is NULL while the schedule is paused or the patient discharged.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from notifications.services import Message, notifications_cancel_topic, notify_all
from recovery.models import CheckInSchedule, Enrollment, EnrollmentStatus
from recovery.notification_kinds import NotificationKind
from recovery.services.windows import (
    Window,
    first_window_after_day,
    first_window_closing_after,
    window_on,
)
from recovery.texts import in_language


def nudge_topic(enrollment_id: int, day: date) -> str:
    return f"checkin-window:{enrollment_id}:{day.isoformat()}"


def nudge_key(enrollment_id: int, window: Window) -> str:
    """One nudge per window, not per day: a window changed after its nudge went out (the
    counselor gives the patient until 22:00 instead of 19:00) is a new window and gets its
    own nudge. Setting the same window again gives the same key, so no second nudge."""
    return (
        f"nudge:{enrollment_id}:{window.day.isoformat()}:"
        f"{window.opens:%Y%m%dT%H%MZ}-{window.due:%Y%m%dT%H%MZ}"
    )


def nudge_for(schedule: CheckInSchedule, enrollment: Enrollment, window: Window) -> Message | None:
    """One nudge before the window's due time, if that still lies ahead of its opening."""
    lead = timedelta(minutes=enrollment.program.nudge_before_due_minutes)
    due_at = max(window.opens, window.due - lead)
    if due_at >= window.deadline:
        return None
    return Message(
        kind=NotificationKind.CHECKIN_NUDGE,
        key=nudge_key(enrollment.id, window),
        recipients=[enrollment.patient_id],
        topic=nudge_topic(enrollment.id, window.day),
        title=in_language(enrollment.language, gettext_noop("Time for your check-in")),
        body=in_language(
            enrollment.language, gettext_noop("A minute to note how you are doing today.")
        ),
        payload={"window_day": window.day.isoformat(), "due_at": window.due.isoformat()},
        due_at=due_at,
        expires_at=window.deadline,
    )


def apply_window(
    schedule: CheckInSchedule, enrollment: Enrollment, window: Window | None
) -> Message | None:
    """Point the schedule at `window`; return its nudge to be queued by the caller."""
    if window is None or schedule.paused or enrollment.status != EnrollmentStatus.ACTIVE:
        schedule.next_due_at = None
        schedule.next_window_date = None
        return None
    schedule.next_due_at = window.deadline
    schedule.next_window_date = window.day
    return nudge_for(schedule, enrollment, window)


@transaction.atomic
def checkin_schedule_set(
    *,
    enrollment: Enrollment,
    opens_at: time,
    due_by: time,
    days_of_week: list[int],
    grace_minutes: int,
    paused: bool = False,
    paused_reason: str = "",
) -> CheckInSchedule:
    schedule, _ = CheckInSchedule.objects.select_for_update().get_or_create(
        enrollment=enrollment,
        defaults={"opens_at": opens_at, "due_by": due_by, "days_of_week": days_of_week},
    )
    if schedule.next_window_date is not None:
        notifications_cancel_topic(topic=nudge_topic(enrollment.id, schedule.next_window_date))
    schedule.opens_at = opens_at
    schedule.due_by = due_by
    schedule.days_of_week = sorted(set(days_of_week))
    schedule.grace_minutes = grace_minutes
    schedule.paused = paused
    schedule.paused_reason = paused_reason if paused else ""
    if paused:
        schedule.consecutive_missed = 0
    window = first_window_closing_after(schedule, timezone.now(), enrollment.timezone)
    nudge = apply_window(schedule, enrollment, window)
    schedule.save()
    notify_all(messages=[nudge] if nudge else [])
    return schedule


def schedule_advance_after_checkin(*, enrollment: Enrollment, at: datetime) -> None:
    """A check-in at `at` satisfies the pending window if it falls inside it.

    The schedule read with the patient (AUTH_USER_SELECT_RELATED) is only trusted to try
    one UPDATE that applies if nobody moved it since (the sweep, a new schedule). In any
    other case (moved meanwhile, `at` outside what was read, nothing read) it is read
    again under a row lock, as it always was."""
    if Enrollment.checkin_schedule.is_cached(enrollment):
        read = getattr(enrollment, "checkin_schedule", None)
        if read is not None and _advance(read, enrollment, at, expected=read.next_due_at):
            return
        Enrollment.checkin_schedule.related.delete_cached_value(enrollment)  # may be stale
    schedule = (
        CheckInSchedule.objects.select_for_update()
        .filter(enrollment=enrollment, next_due_at__isnull=False)
        .first()
    )
    if schedule is not None:
        _advance(schedule, enrollment, at, expected=None)


def _advance(
    schedule: CheckInSchedule, enrollment: Enrollment, at: datetime, *, expected: datetime | None
) -> bool:
    """Move `schedule` past its window if `at` falls inside it; returns whether it did.
    With `expected` (read without a lock) only if the row is still as read: the same
    deadline and no save since (`updated_at`: a new schedule, a pause, a zone moved)."""
    if schedule.next_due_at is None or schedule.next_window_date is None:
        return False
    window = window_on(schedule, schedule.next_window_date, enrollment.timezone)
    if window is None or not (window.opens <= at <= window.deadline):
        return False
    day, saved_at = schedule.next_window_date, schedule.updated_at
    schedule.consecutive_missed = 0
    nudge = apply_window(
        schedule, enrollment, first_window_after_day(schedule, window.day, enrollment.timezone)
    )
    saving_at = timezone.now()
    moved: dict[str, Any] = {
        "next_due_at": schedule.next_due_at,
        "next_window_date": schedule.next_window_date,
        "consecutive_missed": 0,
        "updated_at": saving_at,
    }
    if expected is not None:
        rows = CheckInSchedule.objects.filter(
            pk=schedule.pk, next_due_at=expected, next_window_date=day, updated_at=saved_at
        ).update(**moved)
        if not rows:
            return False
    else:
        CheckInSchedule.objects.filter(pk=schedule.pk).update(**moved)
    schedule.updated_at = saving_at
    notifications_cancel_topic(topic=nudge_topic(enrollment.id, window.day))
    patient = [enrollment.patient] if Enrollment.patient.is_cached(enrollment) else []
    notify_all(messages=[nudge] if nudge else [], known_users=patient)
    return True


def schedule_stop(*, enrollment: Enrollment) -> None:
    """Discharge: no more windows, no more nudges."""
    schedule = CheckInSchedule.objects.filter(enrollment=enrollment).first()
    if schedule is None:
        return
    if schedule.next_window_date is not None:
        notifications_cancel_topic(topic=nudge_topic(enrollment.id, schedule.next_window_date))
    schedule.next_due_at = None
    schedule.next_window_date = None
    schedule.save(update_fields=["next_due_at", "next_window_date", "updated_at"])
