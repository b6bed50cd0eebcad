"""Reads of the treatment plan and of how it is carried out: goal progress computed from
the record, weekly mutual-help counts, medication adherence from check-ins, stage and
level-of-care suggestions, and the monitoring columns of the caseload.

Days are the patient's local dates (their IANA zone); weeks run Monday to Sunday.
Everything here only reads: a suggestion is never acted on here, a counselor confirms it
through POST /api/v1/patients/{id}/change/.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from recovery.models import (
    Attendance,
    AttendanceStatus,
    CheckIn,
    CheckInSchedule,
    DrugScreen,
    Enrollment,
    EnrollmentChange,
    EnrollmentStatus,
    ExercisePractice,
    GoalMetric,
    GoalStatus,
    LevelOfCare,
    Medication,
    MutualHelpMeeting,
    PlanGoal,
    ProgramMonitoringSettings,
    ScreenOutcome,
    Stage,
    TreatmentPlan,
    User,
)
from recovery.selectors.access import enrollments_visible_to

ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY)
WEEKLY_METRICS = (
    GoalMetric.MUTUAL_HELP_MEETINGS_PER_WEEK,
    GoalMetric.COPING_PRACTICE_DAYS_PER_WEEK,
    GoalMetric.SESSIONS_ATTENDED_PER_WEEK,
)
PROGRESS_WEEKS = 4
ADHERENCE_DAYS = 28
STAGE_ORDER = [
    Stage.ENGAGEMENT,
    Stage.EARLY_RECOVERY,
    Stage.MAINTENANCE,
    Stage.COMMUNITY_SUPPORT,
]
LEVEL_ORDER = [level.value for level in LevelOfCare]  # the ASAM continuum, least intensive first
USE_OUTCOMES = (ScreenOutcome.POSITIVE,)
MISSED_OUTCOMES = (ScreenOutcome.MISSED, ScreenOutcome.REFUSED)


def _zone(enrollment: Enrollment) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(enrollment.timezone)


def today_for(enrollment: Enrollment, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(_zone(enrollment)).date()


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _day_start(enrollment: Enrollment, day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=_zone(enrollment))


# --- who sees what ----------------------------------------------------------------------


def plans_visible_to(user: User) -> QuerySet[TreatmentPlan]:
    return TreatmentPlan.objects.filter(enrollment__in=enrollments_visible_to(user))


def goals_visible_to(user: User) -> QuerySet[PlanGoal]:
    return PlanGoal.objects.filter(plan__enrollment__in=enrollments_visible_to(user))


def meetings_visible_to(user: User) -> QuerySet[MutualHelpMeeting]:
    return MutualHelpMeeting.objects.filter(enrollment__in=enrollments_visible_to(user))


def screens_visible_to(user: User) -> QuerySet[DrugScreen]:
    return DrugScreen.objects.filter(enrollment__in=enrollments_visible_to(user))


def medications_visible_to(user: User) -> QuerySet[Medication]:
    return Medication.objects.filter(enrollment__in=enrollments_visible_to(user))


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
        record = cls(enrollment=enrollment, today=now.astimezone(zone).date(), since=since)
        start = _day_start(enrollment, since)
        for at, used in CheckIn.objects.filter(
            enrollment=enrollment, device_time__gte=start
        ).values_list("device_time", "used_substance"):
            day = at.astimezone(zone).date()
            record.checkin_days.add(day)
            if used:
                record.use_days.add(day)
        last_use = (
            CheckIn.objects.filter(enrollment=enrollment, used_substance=True)
            .aggregate(m=Max("device_time"))
            .get("m")
        )
        use_candidates = [last_use.astimezone(zone).date()] if last_use else []
        for at in ExercisePractice.objects.filter(
            enrollment=enrollment, practiced_at__gte=start
        ).values_list("practiced_at", flat=True):
            record.practice_days.add(at.astimezone(zone).date())
        record.meeting_days = list(
            MutualHelpMeeting.objects.filter(
                enrollment=enrollment, attended_on__gte=since
            ).values_list("attended_on", flat=True)
        )
        record.attended_days = [
            at.astimezone(zone).date()
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
    created = goal.created_at.astimezone(_zone(record.enrollment)).date()
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


def plan_progress(plan: TreatmentPlan, *, now: datetime | None = None) -> dict[int, dict[str, Any]]:
    """Progress of each goal of a plan, reading the record once."""
    now = now or timezone.now()
    enrollment = plan.enrollment
    goals = list(plan.goals.all())
    if not goals:
        return {}
    today = today_for(enrollment, now)
    since = min(
        week_start(today) - timedelta(weeks=PROGRESS_WEEKS),
        today - timedelta(days=ADHERENCE_DAYS + 1),
    )
    record = Record.load(enrollment, since=since, now=now)
    return {goal.id: goal_progress(goal, record) for goal in goals}


def goal_progress_for(goal: PlanGoal, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    enrollment = goal.plan.enrollment
    today = today_for(enrollment, now)
    since = min(
        week_start(today) - timedelta(weeks=PROGRESS_WEEKS),
        today - timedelta(days=ADHERENCE_DAYS + 1),
    )
    return goal_progress(goal, Record.load(enrollment, since=since, now=now))


# --- mutual-help meetings ---------------------------------------------------------------


def meetings_weekly(
    *, enrollment: Enrollment, weeks: int = 12, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Meetings per week, this week first, with how many were online."""
    this_week = week_start(today_for(enrollment, now))
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
        day = at.astimezone(zones[enrollment_id]).date()
        answers[enrollment_id][day] = answers[enrollment_id].get(day, False) or bool(taken)
    result: dict[int, dict[date, str]] = {}
    for enrollment in enrollments:
        today = today_for(enrollment, now)
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
    today = today_for(enrollment, now)
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


# --- stage and level-of-care suggestions ------------------------------------------------


@dataclass
class Suggestion:
    """What the record suggests. Nothing is changed: a counselor confirms or not."""

    current_stage: str
    suggested_stage: str | None
    current_level_of_care: str
    suggested_level_of_care: str | None
    reasons: list[str]
    window_from: date
    window_to: date
    days_in_stage: int
    checkin_adherence: float | None
    use_days: int
    positive_screens: int
    missed_screens: int


def _level_step(program_levels: list[str], current: str, step: int) -> str | None:
    offered = [level for level in LEVEL_ORDER if not program_levels or level in program_levels]
    if current not in LEVEL_ORDER:
        return None
    position = LEVEL_ORDER.index(current)
    candidates = [
        level
        for level in offered
        if (
            LEVEL_ORDER.index(level) > position if step > 0 else LEVEL_ORDER.index(level) < position
        )
    ]
    if not candidates:
        return None
    return candidates[0] if step > 0 else candidates[-1]


def _stage_since(enrollment: Enrollment, zone: zoneinfo.ZoneInfo) -> date:
    last = (
        EnrollmentChange.objects.filter(enrollment=enrollment, field=EnrollmentChange.Field.STAGE)
        .order_by("-changed_at", "-id")
        .values_list("changed_at", flat=True)
        .first()
    )
    started = enrollment.start_date
    return max(started, last.astimezone(zone).date()) if last else started


def care_suggestion(*, enrollment: Enrollment, now: datetime | None = None) -> Suggestion:
    """Suggest the next stage after a full window in this stage with check-in adherence at
    the program's bar, no reported use, no positive and no missed screen; suggest stepping
    down from the last stage; suggest stepping up the level of care when use (reported days
    plus positive or missed screens) reaches the program's count within the window."""
    now = now or timezone.now()
    rules = monitoring_settings_of(enrollment.program_id)
    window = rules.suggestion_window_days
    zone = _zone(enrollment)
    today = now.astimezone(zone).date()
    last = today - timedelta(days=1)
    first = today - timedelta(days=window)
    record = Record.load(enrollment, since=first, now=now)
    done, expected = record.checkin_adherence(first, last)
    adherence = _ratio(done, expected)
    use_days = sum(1 for d in record.use_days if first <= d <= last)
    positives = sum(1 for d in record.positive_screen_days if first <= d <= today)
    missed = sum(1 for d in record.missed_screen_days if first <= d <= today)
    since = _stage_since(enrollment, zone)
    days_in_stage = (today - since).days
    bar = float(rules.suggestion_min_checkin_adherence)
    suggestion = Suggestion(
        current_stage=enrollment.stage,
        suggested_stage=None,
        current_level_of_care=enrollment.level_of_care,
        suggested_level_of_care=None,
        reasons=[],
        window_from=first,
        window_to=last,
        days_in_stage=days_in_stage,
        checkin_adherence=adherence,
        use_days=use_days,
        positive_screens=positives,
        missed_screens=missed,
    )
    if enrollment.status != EnrollmentStatus.ACTIVE:
        suggestion.reasons.append("The patient is discharged.")
        return suggestion
    reasons = suggestion.reasons
    program_levels = list(enrollment.program.levels_of_care or [])
    use_events = use_days + positives + missed
    if use_events >= rules.step_up_use_events:
        suggestion.suggested_level_of_care = _level_step(
            program_levels, enrollment.level_of_care, +1
        )
        reasons.append(
            f"{use_events} use events in the last {window} days (reported use days, positive "
            f"or missed screens); {rules.step_up_use_events} suggest more support."
        )
        if suggestion.suggested_level_of_care is None:
            reasons.append("The program offers no more intensive level of care.")
        return suggestion
    blockers: list[str] = []
    if days_in_stage < window:
        blockers.append(f"In this stage for {days_in_stage} days; {window} needed.")
    if adherence is None or adherence < bar:
        shown = "no scheduled check-ins" if adherence is None else f"{adherence:.0%}"
        blockers.append(f"Check-in adherence {shown} over {window} days; {bar:.0%} needed.")
    if use_days:
        blockers.append(f"Use reported on {use_days} days.")
    if positives:
        blockers.append(f"{positives} positive screens.")
    if missed:
        blockers.append(f"{missed} missed or refused screens.")
    if blockers:
        reasons.extend(blockers)
        return suggestion
    reasons.append(
        f"Over the last {window} days: check-in adherence {adherence:.0%}, no reported use, "
        "no positive or missed screen."
    )
    position = STAGE_ORDER.index(Stage(enrollment.stage))
    if position + 1 < len(STAGE_ORDER):
        suggestion.suggested_stage = STAGE_ORDER[position + 1].value
    else:
        suggestion.suggested_level_of_care = _level_step(
            program_levels, enrollment.level_of_care, -1
        )
        if suggestion.suggested_level_of_care is None:
            reasons.append("The program offers no less intensive level of care.")
    return suggestion


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
    oldest = min(today_for(e, now) for e in enrollments) - timedelta(days=ADHERENCE_DAYS + 7)
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
        today = today_for(enrollment, now)
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
