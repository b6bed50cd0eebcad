"""Reads of the treatment plan: who sees plans, goals, meetings, screens and medications,
the program's monitoring thresholds, the patient's record day by day, and goal progress
computed from that record.

Weekly mutual-help counts, medication adherence and the caseload's monitoring columns are
in `recovery.selectors.monitoring`; stage and level-of-care suggestions in
`recovery.selectors.suggestion`.

Days are the patient's local dates (their IANA zone); weeks run Monday to Sunday.
Everything here only reads.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Max, QuerySet
from django.utils import timezone

from backend.timezones import local_date
from recovery.dates import enrollment_today
from recovery.models import (
    Attendance,
    AttendanceStatus,
    CheckIn,
    CheckInSchedule,
    DrugScreen,
    Enrollment,
    ExercisePractice,
    GoalMetric,
    Medication,
    MutualHelpMeeting,
    PlanGoal,
    ProgramMonitoringSettings,
    ScreenOutcome,
    TreatmentPlan,
    User,
)
from recovery.selectors.access import records_visible_to

ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY)
WEEKLY_METRICS = (
    GoalMetric.MUTUAL_HELP_MEETINGS_PER_WEEK,
    GoalMetric.COPING_PRACTICE_DAYS_PER_WEEK,
    GoalMetric.SESSIONS_ATTENDED_PER_WEEK,
)
PROGRESS_WEEKS = 4
ADHERENCE_DAYS = 28
USE_OUTCOMES = (ScreenOutcome.POSITIVE,)
MISSED_OUTCOMES = (ScreenOutcome.MISSED, ScreenOutcome.REFUSED)


def _zone(enrollment: Enrollment) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(enrollment.timezone)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _day_start(enrollment: Enrollment, day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=_zone(enrollment))


# --- who sees what ----------------------------------------------------------------------


def plans_visible_to(user: User) -> QuerySet[TreatmentPlan]:
    return records_visible_to(user, TreatmentPlan.objects.all())


def goals_visible_to(user: User) -> QuerySet[PlanGoal]:
    return records_visible_to(user, PlanGoal.objects.all(), via="plan__enrollment")


def meetings_visible_to(user: User) -> QuerySet[MutualHelpMeeting]:
    return records_visible_to(user, MutualHelpMeeting.objects.all())


def screens_visible_to(user: User) -> QuerySet[DrugScreen]:
    return records_visible_to(user, DrugScreen.objects.all())


def medications_visible_to(user: User) -> QuerySet[Medication]:
    return records_visible_to(user, Medication.objects.all())


def monitoring_settings_of(program_id: int) -> ProgramMonitoringSettings:
    """The program's thresholds; the defaults (unsaved) when none were set."""
    found = ProgramMonitoringSettings.objects.filter(program_id=program_id).first()
    return found or ProgramMonitoringSettings(program_id=program_id)


# --- what the record says, day by day ---------------------------------------------------


@dataclass
class Record:
    """One patient's record from `since` on, read once, in local days."""

    enrollment: Enrollment
    today: date
    since: date
    checkin_days: set[date] = field(default_factory=set)
    use_days: set[date] = field(default_factory=set)
    practice_days: set[date] = field(default_factory=set)
    meeting_days: list[date] = field(default_factory=list)
    attended_days: list[date] = field(default_factory=list)
    positive_screen_days: set[date] = field(default_factory=set)
    missed_screen_days: set[date] = field(default_factory=set)
    schedule_days: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7])
    last_use_day: date | None = None

    @classmethod
    def load(cls, enrollment: Enrollment, *, since: date, now: datetime) -> Record:
        zone = _zone(enrollment)
        record = cls(enrollment=enrollment, today=enrollment_today(enrollment, now), since=since)
        start = _day_start(enrollment, since)
        for at, used in CheckIn.objects.filter(
            enrollment=enrollment, device_time__gte=start
        ).values_list("device_time", "used_substance"):
            day = local_date(at, zone)
            record.checkin_days.add(day)
            if used:
                record.use_days.add(day)
        last_use = (
            CheckIn.objects.filter(enrollment=enrollment, used_substance=True)
            .aggregate(m=Max("device_time"))
            .get("m")
        )
        use_candidates = [local_date(last_use, zone)] if last_use else []
        for at in ExercisePractice.objects.filter(
            enrollment=enrollment, practiced_at__gte=start
        ).values_list("practiced_at", flat=True):
            record.practice_days.add(local_date(at, zone))
        record.meeting_days = list(
            MutualHelpMeeting.objects.filter(
                enrollment=enrollment, attended_on__gte=since
            ).values_list("attended_on", flat=True)
        )
        record.attended_days = [
            local_date(at, zone)
            for at in Attendance.objects.filter(
                enrollment=enrollment, status__in=ATTENDED, session__starts_at__gte=start
            ).values_list("session__starts_at", flat=True)
        ]
        for day, outcome in DrugScreen.objects.filter(
            enrollment=enrollment, collected_on__gte=since
        ).values_list("collected_on", "outcome"):
            if outcome in USE_OUTCOMES:
                record.positive_screen_days.add(day)
            elif outcome in MISSED_OUTCOMES:
                record.missed_screen_days.add(day)
        last_positive = (
            DrugScreen.objects.filter(enrollment=enrollment, outcome__in=USE_OUTCOMES)
            .aggregate(m=Max("collected_on"))
            .get("m")
        )
        if last_positive:
            use_candidates.append(last_positive)
        record.last_use_day = max(use_candidates) if use_candidates else None
        schedule = CheckInSchedule.objects.filter(enrollment=enrollment).first()
        if schedule is not None and schedule.days_of_week:
            record.schedule_days = list(schedule.days_of_week)
        return record

    def checkin_adherence(self, first: date, last: date) -> tuple[int, int]:
        """(done, expected) scheduled check-in days between two local dates, inclusive."""
        first = max(first, self.enrollment.start_date)
        expected = done = 0
        day = first
        while day <= last:
            if day.isoweekday() in self.schedule_days:
                expected += 1
                done += day in self.checkin_days
            day += timedelta(days=1)
        return done, expected

    def abstinent_days(self) -> int:
        if self.last_use_day is None:
            return max((self.today - self.enrollment.start_date).days + 1, 0)
        return max((self.today - self.last_use_day).days, 0)

    def weekly(self, metric: str, week: date) -> int:
        end = week + timedelta(days=6)
        if metric == GoalMetric.MUTUAL_HELP_MEETINGS_PER_WEEK:
            return sum(1 for d in self.meeting_days if week <= d <= end)
        if metric == GoalMetric.COPING_PRACTICE_DAYS_PER_WEEK:
            return sum(1 for d in self.practice_days if week <= d <= end)
        if metric == GoalMetric.SESSIONS_ATTENDED_PER_WEEK:
            return sum(1 for d in self.attended_days if week <= d <= end)
        raise ValueError(metric)


# --- goal progress ----------------------------------------------------------------------


def _ratio(done: int, expected: int) -> float | None:
    return round(done / expected, 3) if expected else None


def goal_progress(goal: PlanGoal, record: Record) -> dict[str, Any]:
    """How far a goal is, from the record (or the latest hand-recorded entry)."""
    target = float(goal.target_value)
    today = record.today
    created = local_date(goal.created_at, _zone(record.enrollment))
    progress: dict[str, Any] = {
        "metric": goal.metric,
        "target_value": target,
        "current_value": None,
        "target_met": None,
        "basis": "",
        "weeks": [],
        "as_of": today,
    }
    if goal.metric in WEEKLY_METRICS:
        this_week = week_start(today)
        first = max(week_start(created), this_week - timedelta(weeks=PROGRESS_WEEKS))
        weeks: list[dict[str, Any]] = []
        values: list[int] = []
        week = first
        while week <= this_week:
            value = record.weekly(goal.metric, week)
            in_progress = week == this_week
            met: bool | None = value >= target
            if in_progress and not met:
                met = None  # the week is not over yet
            weeks.append(
                {"week_start": week, "value": value, "met": met, "in_progress": in_progress}
            )
            values.append(value)
            week += timedelta(weeks=1)
        progress["weeks"] = weeks
        if len(values) > 1:  # the last complete week is the measure
            progress.update(
                current_value=float(values[-2]),
                target_met=values[-2] >= target,
                basis="last_complete_week",
            )
        else:
            progress.update(
                current_value=float(values[-1]),
                target_met=True if values[-1] >= target else None,
                basis="this_week_so_far",
            )
    elif goal.metric == GoalMetric.CHECKIN_ADHERENCE:
        last = today - timedelta(days=1)
        done, expected = record.checkin_adherence(last - timedelta(days=ADHERENCE_DAYS - 1), last)
        ratio = _ratio(done, expected)
        progress.update(
            current_value=ratio,
            target_met=None if ratio is None else ratio >= target,
            basis=f"last_{ADHERENCE_DAYS}_days",
        )
    elif goal.metric == GoalMetric.QUESTIONNAIRE_SCORE:
        progress.update(score_goal_progress(goal, target))
    elif goal.metric == GoalMetric.ABSTINENT_DAYS:
        days = record.abstinent_days()
        progress.update(current_value=float(days), target_met=days >= target, basis="streak")
    else:
        entry = goal.progress_entries.order_by("-on_date", "-id").first()
        if entry is not None:
            progress.update(
                current_value=float(entry.value),
                target_met=entry.value >= goal.target_value,
                basis="latest_entry",
            )
        else:
            progress["basis"] = "no_entry_yet"
    return progress


def score_goal_progress(goal: PlanGoal, target: float) -> dict[str, Any]:
    """A score goal: met while the latest score is at or below the target (lower scores are
    better on every instrument in the library)."""
    from recovery.models import QuestionnaireResponse

    latest = (
        QuestionnaireResponse.objects.filter(
            enrollment_id=goal.plan.enrollment_id, instrument=goal.instrument
        )
        .order_by("-device_time", "-id")
        .values_list("total", flat=True)
        .first()
    )
    if latest is None:
        return {"basis": "no_response_yet"}
    return {
        "current_value": float(latest),
        "target_met": latest <= target,
        "basis": "latest_response",
    }


def plan_progress(plan: TreatmentPlan, *, now: datetime | None = None) -> dict[int, dict[str, Any]]:
    """Progress of each goal of a plan, reading the record once."""
    now = now or timezone.now()
    enrollment = plan.enrollment
    goals = list(plan.goals.all())
    if not goals:
        return {}
    today = enrollment_today(enrollment, now)
    since = min(
        week_start(today) - timedelta(weeks=PROGRESS_WEEKS),
        today - timedelta(days=ADHERENCE_DAYS + 1),
    )
    record = Record.load(enrollment, since=since, now=now)
    return {goal.id: goal_progress(goal, record) for goal in goals}


def goal_progress_for(goal: PlanGoal, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    enrollment = goal.plan.enrollment
    today = enrollment_today(enrollment, now)
    since = min(
        week_start(today) - timedelta(weeks=PROGRESS_WEEKS),
        today - timedelta(days=ADHERENCE_DAYS + 1),
    )
    return goal_progress(goal, Record.load(enrollment, since=since, now=now))
