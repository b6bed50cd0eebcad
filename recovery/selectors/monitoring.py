"""Reads of how monitoring is carried out: weekly mutual-help counts, medication adherence
from the daily check-in, and the monitoring columns of the caseload.

Days are the patient's local dates (their IANA zone); weeks run Monday to Sunday.
Everything here only reads.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from backend.timezones import local_date
from recovery.dates import enrollment_today
from recovery.models import (
    CheckIn,
    DrugScreen,
    Enrollment,
    EnrollmentStatus,
    GoalStatus,
    Medication,
    MutualHelpMeeting,
    TreatmentPlan,
    User,
)
from recovery.selectors.access import enrollments_visible_to
from recovery.selectors.plan import (
    ADHERENCE_DAYS,
    USE_OUTCOMES,
    _ratio,
    _zone,
    week_start,
)

# --- mutual-help meetings ---------------------------------------------------------------


def meetings_weekly(
    *, enrollment: Enrollment, weeks: int = 12, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Meetings per week, this week first, with how many were online."""
    this_week = week_start(enrollment_today(enrollment, now))
    first = this_week - timedelta(weeks=weeks - 1)
    counts: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for day, meeting_format in MutualHelpMeeting.objects.filter(
        enrollment=enrollment, attended_on__gte=first
    ).values_list("attended_on", "format"):
        bucket = counts[week_start(day)]
        bucket[0] += 1
        bucket[1] += meeting_format == "online"
    return [
        {
            "week_start": (week := this_week - timedelta(weeks=n)),
            "meetings": counts[week][0],
            "online": counts[week][1],
        }
        for n in range(weeks)
    ]


# --- medication adherence ---------------------------------------------------------------


def _on_medication(medications: list[Medication], day: date) -> bool:
    return any(
        m.start_date <= day and (m.end_date is None or day <= m.end_date) for m in medications
    )


def medication_days_bulk(
    *, enrollments: list[Enrollment], days: int, now: datetime | None = None
) -> dict[int, dict[date, str]]:
    """For each patient, each local day of the last `days` (and today) they were on a
    medication: "taken", "missed" (the check-in said not taken) or "unreported"."""
    now = now or timezone.now()
    if not enrollments:
        return {}
    ids = [e.id for e in enrollments]
    medications: dict[int, list[Medication]] = defaultdict(list)
    for medication in Medication.objects.filter(enrollment_id__in=ids):
        medications[medication.enrollment_id].append(medication)
    answers: dict[int, dict[date, bool]] = defaultdict(dict)
    zones = {e.id: _zone(e) for e in enrollments}
    for enrollment_id, at, taken in (
        CheckIn.objects.filter(
            enrollment_id__in=ids,
            device_time__gte=now - timedelta(days=days + 2),
            medication_taken__isnull=False,
        )
        .order_by("device_time")
        .values_list("enrollment_id", "device_time", "medication_taken")
    ):
        day = local_date(at, zones[enrollment_id])
        answers[enrollment_id][day] = answers[enrollment_id].get(day, False) or bool(taken)
    result: dict[int, dict[date, str]] = {}
    for enrollment in enrollments:
        today = enrollment_today(enrollment, now)
        statuses: dict[date, str] = {}
        for offset in range(days + 1):
            day = today - timedelta(days=offset)
            if not _on_medication(medications[enrollment.id], day):
                continue
            answer = answers[enrollment.id].get(day)
            statuses[day] = "unreported" if answer is None else ("taken" if answer else "missed")
        result[enrollment.id] = statuses
    return result


def medication_adherence(
    *, enrollment: Enrollment, days: int = ADHERENCE_DAYS, now: datetime | None = None
) -> dict[str, Any]:
    """Doses taken, missed and unreported over the last `days` days (today included once
    reported), from the daily check-in."""
    now = now or timezone.now()
    today = enrollment_today(enrollment, now)
    statuses = medication_days_bulk(enrollments=[enrollment], days=days - 1, now=now)[enrollment.id]
    if statuses.get(today) == "unreported":
        statuses[today] = "pending"
    counted = {d: s for d, s in statuses.items() if s != "pending"}
    taken = sum(1 for s in counted.values() if s == "taken")
    missed = sum(1 for s in counted.values() if s == "missed")
    unreported = sum(1 for s in counted.values() if s == "unreported")
    return {
        "from_date": today - timedelta(days=days - 1),
        "to_date": today,
        "days_on_medication": len(counted),
        "taken": taken,
        "missed": missed,
        "unreported": unreported,
        "adherence": _ratio(taken, len(counted)),
        "reported_adherence": _ratio(taken, taken + missed),
        "days": [{"date": day, "status": statuses[day]} for day in sorted(statuses, reverse=True)],
    }


# --- the caseload's monitoring columns --------------------------------------------------


def monitoring_caseload(*, user: User, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per active patient in reach: meetings this and last week, the last screen, positive
    screens in 28 days, doses taken and missed in 7 days, and the plan's state. A fixed
    number of queries, however many patients."""
    now = now or timezone.now()
    enrollments = list(
        enrollments_visible_to(user)
        .filter(status=EnrollmentStatus.ACTIVE)
        .order_by("patient__last_name", "id")
    )
    if not enrollments:
        return []
    ids = [e.id for e in enrollments]
    oldest = min(enrollment_today(e, now) for e in enrollments) - timedelta(days=ADHERENCE_DAYS + 7)
    meetings: dict[int, list[date]] = defaultdict(list)
    for enrollment_id, day in MutualHelpMeeting.objects.filter(
        enrollment_id__in=ids, attended_on__gte=oldest
    ).values_list("enrollment_id", "attended_on"):
        meetings[enrollment_id].append(day)
    last_screen: dict[int, tuple[date, str]] = {}
    positives: dict[int, list[date]] = defaultdict(list)
    for enrollment_id, day, outcome in (
        DrugScreen.objects.filter(enrollment_id__in=ids)
        .order_by("enrollment_id", "collected_on", "id")
        .values_list("enrollment_id", "collected_on", "outcome")
    ):
        last_screen[enrollment_id] = (day, outcome)
        if outcome in USE_OUTCOMES:
            positives[enrollment_id].append(day)
    doses = medication_days_bulk(enrollments=enrollments, days=6, now=now)
    plans = {
        p.enrollment_id: p
        for p in TreatmentPlan.objects.filter(enrollment_id__in=ids).annotate(
            active_goals=Count("goals", filter=Q(goals__status=GoalStatus.ACTIVE))
        )
    }
    rows = []
    for enrollment in enrollments:
        today = enrollment_today(enrollment, now)
        this_week = week_start(today)
        days = meetings[enrollment.id]
        screen = last_screen.get(enrollment.id)
        plan = plans.get(enrollment.id)
        statuses = doses.get(enrollment.id, {})
        rows.append(
            {
                "patient": enrollment.id,
                "meetings_this_week": sum(1 for d in days if d >= this_week),
                "meetings_last_week": sum(
                    1 for d in days if this_week - timedelta(weeks=1) <= d < this_week
                ),
                "last_screen_on": screen[0] if screen else None,
                "last_screen_outcome": screen[1] if screen else None,
                "positive_screens_28d": sum(
                    1 for d in positives[enrollment.id] if d > today - timedelta(days=28)
                ),
                "doses_taken_7d": sum(1 for s in statuses.values() if s == "taken"),
                "doses_missed_7d": sum(1 for s in statuses.values() if s == "missed"),
                "has_plan": plan is not None,
                "plan_review_due": bool(plan and plan.review_due),
                "active_goals": getattr(plan, "active_goals", 0) if plan else 0,
            }
        )
    return rows
