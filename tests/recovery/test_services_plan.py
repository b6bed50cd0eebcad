"""The treatment plan's services and reads: goals and their history, progress computed
from the record, reviews at stage changes, and stage or level-of-care suggestions."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from backend.errors import ServiceError
from recovery.models import (
    Attendance,
    AttendanceStatus,
    CheckIn,
    EnrollmentChange,
    EnrollmentStatus,
    Exercise,
    ExercisePractice,
    Fellowship,
    GoalDomain,
    GoalMetric,
    GoalStatus,
    GoalStatusChange,
    MeetingFormat,
    MutualHelpMeeting,
    PlanGoal,
    ProgramMonitoringSettings,
    ScreenMethod,
    ScreenStatus,
    Stage,
    SubstanceResult,
    TreatmentPlan,
)
from recovery.selectors.plan import goal_progress_for, plan_progress
from recovery.selectors.suggestion import care_suggestion
from recovery.services import plan as plan_services
from recovery.services import screens as screen_services
from recovery.services.plan import GoalInput
from tests.factories import EnrollmentFactory, SessionFactory

pytestmark = pytest.mark.django_db

# Wednesday 3 June 2026, noon in New York (the factories' program zone).
NOON = datetime(2026, 6, 3, 16, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine: Any) -> Any:
    time_machine.move_to(NOON, tick=False)
    return time_machine


@pytest.fixture
def patient(clock: Any, program: Any, counselor: Any) -> Any:
    return EnrollmentFactory(
        program=program, primary_counselor=counselor, start_date=date(2026, 5, 4)
    )


def goal(
    metric: str = GoalMetric.MUTUAL_HELP_MEETINGS_PER_WEEK,
    target: str = "2",
    due: date = date(2026, 8, 1),
    domain: str = GoalDomain.PEER_SUPPORT,
) -> GoalInput:
    return GoalInput(
        domain=domain,
        description="Go to meetings",
        metric=metric,
        target_value=Decimal(target),
        due_date=due,
    )


def checkin(enrollment: Any, at: datetime, *, used: bool = False, taken: bool | None = None) -> Any:
    return CheckIn.objects.create(
        enrollment=enrollment,
        client_id=uuid.uuid4(),
        mood=3,
        craving=2,
        used_substance=used,
        medication_taken=taken,
        device_time=at,
        device_timezone="America/New_York",
        received_at=at,
        payload_hash="x",
    )


def evening(day: date) -> datetime:
    """19:00 in New York on a local date."""
    return datetime(day.year, day.month, day.day, 23, 0, tzinfo=UTC)


# --- writing the plan -------------------------------------------------------------------


def test_a_plan_is_written_with_its_goals_and_their_first_history(patient, counselor):
    plan = plan_services.plan_create(
        enrollment=patient,
        actor=counselor,
        summary="First month",
        goals=[goal(), goal(GoalMetric.CHECKIN_ADHERENCE, "0.8", domain=GoalDomain.SUBSTANCE_USE)],
    )
    assert plan.goals.count() == 2
    history = GoalStatusChange.objects.filter(goal__plan=plan)
    assert [(h.from_status, h.to_status) for h in history] == [("", "active"), ("", "active")]
    assert all(h.changed_by == counselor for h in history)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (goal(target="0"), "goals.1.target_value"),
        (goal(target="1.5"), "goals.1.target_value"),
        (goal(GoalMetric.CHECKIN_ADHERENCE, "1.2"), "goals.1.target_value"),
        (goal(GoalMetric.COPING_PRACTICE_DAYS_PER_WEEK, "8"), "goals.1.target_value"),
        (goal(due=date(2026, 6, 2)), "goals.1.due_date"),
    ],
)
def test_a_bad_goal_refuses_the_whole_plan(patient, counselor, bad, field):
    with pytest.raises(ServiceError) as refused:
        plan_services.plan_create(enrollment=patient, actor=counselor, goals=[goal(), bad])
    assert field in refused.value.fields
    assert not TreatmentPlan.objects.exists()
    assert not PlanGoal.objects.exists()


def test_one_plan_per_patient(patient, counselor):
    plan_services.plan_create(enrollment=patient, actor=counselor)
    with pytest.raises(ServiceError):
        plan_services.plan_create(enrollment=patient, actor=counselor)


def test_a_discharged_patients_plan_is_not_written(patient, counselor):
    patient.status = EnrollmentStatus.DISCHARGED
    patient.save()
    with pytest.raises(ServiceError):
        plan_services.plan_create(enrollment=patient, actor=counselor, goals=[goal()])


def test_goal_status_changes_are_kept_and_checked(patient, counselor):
    plan = plan_services.plan_create(enrollment=patient, actor=counselor, goals=[goal()])
    the_goal = plan.goals.get()
    plan_services.goal_status_set(goal=the_goal, actor=counselor, status="met", note="4 weeks")
    plan_services.goal_status_set(goal=the_goal, actor=counselor, status="active")
    for bad in ("active", "revised"):
        with pytest.raises(ServiceError):
            plan_services.goal_status_set(goal=the_goal, actor=counselor, status=bad)
    plan_services.goal_status_set(goal=the_goal, actor=counselor, status="dropped")
    with pytest.raises(ServiceError):
        plan_services.goal_status_set(goal=the_goal, actor=counselor, status="met")
    history = list(the_goal.history.values_list("from_status", "to_status", "note"))
    assert history == [
        ("", "active", "created"),
        ("active", "met", "4 weeks"),
        ("met", "active", ""),
        ("active", "dropped", ""),
    ]


def test_revising_closes_the_goal_and_opens_its_successor(patient, counselor):
    plan = plan_services.plan_create(enrollment=patient, actor=counselor, goals=[goal()])
    old = plan.goals.get()
    new = plan_services.goal_revise(
        goal=old, actor=counselor, target_value=Decimal(3), note="Doing well"
    )
    old.refresh_from_db()
    assert old.status == GoalStatus.REVISED
    assert new.replaces == old
    assert new.target_value == 3
    assert new.status == GoalStatus.ACTIVE
    assert old.history.last().to_status == "revised"
    with pytest.raises(ServiceError):
        plan_services.goal_revise(goal=old, actor=counselor, target_value=Decimal(4))
    with pytest.raises(ServiceError):
        plan_services.goal_revise(goal=new, actor=counselor)  # nothing changes
    assert plan.goals.count() == 2


def test_manual_progress_only_on_manual_goals(patient, counselor):
    plan = plan_services.plan_create(
        enrollment=patient,
        actor=counselor,
        goals=[goal(), goal(GoalMetric.MANUAL, "1", domain=GoalDomain.WORK_SCHOOL)],
    )
    computed, manual = plan.goals.order_by("id")
    with pytest.raises(ServiceError):
        plan_services.goal_progress_record(goal=computed, actor=counselor, value=Decimal(1))
    with pytest.raises(ServiceError):
        plan_services.goal_progress_record(
            goal=manual, actor=counselor, value=Decimal(1), on_date=date(2026, 6, 4)
        )
    plan_services.goal_progress_record(goal=manual, actor=patient.patient, value=Decimal(1))
    progress = goal_progress_for(manual)
    assert progress["current_value"] == 1.0
    assert progress["target_met"] is True


def test_only_the_patient_agrees_and_agreement_is_dated(patient, counselor):
    plan = plan_services.plan_create(enrollment=patient, actor=counselor)
    with pytest.raises(ServiceError):
        plan_services.plan_comment_add(plan=plan, author=counselor, agrees=True)
    with pytest.raises(ServiceError):
        plan_services.plan_comment_add(plan=plan, author=patient.patient, body="  ")
    plan_services.plan_comment_add(plan=plan, author=patient.patient, agrees=True)
    plan.refresh_from_db()
    assert plan.patient_agreed_at == NOON


def test_review_is_due_after_a_stage_change_until_recorded(patient, counselor, clock):
    assert plan_services.plan_mark_review_due(enrollment=patient) is False  # no plan yet
    plan = plan_services.plan_create(enrollment=patient, actor=counselor)
    patient.stage = Stage.EARLY_RECOVERY
    patient.save()
    assert plan_services.plan_mark_review_due(enrollment=patient) is True
    clock.shift(timedelta(days=1))
    plan_services.plan_mark_review_due(enrollment=patient)
    plan.refresh_from_db()
    assert plan.review_due is True
    assert plan.review_due_since == NOON  # the first date stays
    assert "Early recovery" in plan.review_due_reason
    review = plan_services.plan_review_record(plan=plan, actor=counselor, note="Goals kept")
    plan.refresh_from_db()
    assert plan.review_due is False
    assert review.stage == Stage.EARLY_RECOVERY
    assert plan.last_reviewed_by == counselor


# --- progress from the record -----------------------------------------------------------


def test_weekly_progress_counts_meetings_practice_and_sessions(patient, counselor, clock):
    clock.move_to(datetime(2026, 5, 20, 16, 0, tzinfo=UTC), tick=False)  # a Wednesday
    plan = plan_services.plan_create(
        enrollment=patient,
        actor=counselor,
        goals=[
            goal(),
            goal(GoalMetric.COPING_PRACTICE_DAYS_PER_WEEK, "3", domain=GoalDomain.COPING_SKILLS),
            goal(GoalMetric.SESSIONS_ATTENDED_PER_WEEK, "1", domain=GoalDomain.MENTAL_HEALTH),
        ],
    )
    clock.move_to(NOON, tick=False)
    # Last week (25 to 31 May): two meetings, practice on 3 days (twice on one), a session.
    for day in (date(2026, 5, 26), date(2026, 5, 30)):
        MutualHelpMeeting.objects.create(
            enrollment=patient,
            fellowship=Fellowship.AA,
            format=MeetingFormat.IN_PERSON,
            attended_on=day,
            logged_at=NOON,
        )
    exercise = Exercise.objects.filter(program__isnull=True).first()
    for day in (date(2026, 5, 25), date(2026, 5, 25), date(2026, 5, 27), date(2026, 5, 31)):
        ExercisePractice.objects.create(
            enrollment=patient,
            exercise=exercise,
            craving_before=5,
            craving_after=3,
            helpfulness=4,
            practiced_at=evening(day),
        )
    session = SessionFactory(
        program=patient.program,
        starts_at=evening(date(2026, 5, 28)),
        ends_at=evening(date(2026, 5, 28)) + timedelta(hours=3),
    )
    Attendance.objects.create(
        session=session,
        enrollment=patient,
        status=AttendanceStatus.LATE,
        minutes_attended=150,
        recorded_at=NOON,
    )
    progress = plan_progress(plan)
    meetings, practice, sessions = (progress[g.id] for g in plan.goals.order_by("id"))
    assert meetings["current_value"] == 2.0
    assert meetings["target_met"] is True
    assert meetings["basis"] == "last_complete_week"
    assert [w["value"] for w in meetings["weeks"]] == [0, 2, 0]
    assert meetings["weeks"][-1] == {
        "week_start": date(2026, 6, 1),
        "value": 0,
        "met": None,
        "in_progress": True,
    }
    assert practice["current_value"] == 3.0
    assert practice["target_met"] is True
    assert sessions["current_value"] == 1.0
    assert sessions["target_met"] is True


def test_a_goal_set_this_week_is_measured_on_this_week_so_far(patient, counselor):
    plan = plan_services.plan_create(enrollment=patient, actor=counselor, goals=[goal()])
    progress = plan_progress(plan)[plan.goals.get().id]
    assert progress["basis"] == "this_week_so_far"
    assert progress["target_met"] is None  # not met yet, but the week is not over


def test_checkin_adherence_and_abstinence(patient, counselor):
    plan = plan_services.plan_create(
        enrollment=patient,
        actor=counselor,
        goals=[
            goal(GoalMetric.CHECKIN_ADHERENCE, "0.8", domain=GoalDomain.SUBSTANCE_USE),
            goal(GoalMetric.ABSTINENT_DAYS, "30", domain=GoalDomain.SUBSTANCE_USE),
        ],
    )
    today = date(2026, 6, 3)
    for n in range(1, 29):  # 28 days before today: 21 check-ins
        if n % 4:
            checkin(patient, evening(today - timedelta(days=n)), used=(n == 10))
    adherence, abstinence = (plan_progress(plan)[g.id] for g in plan.goals.order_by("id"))
    assert adherence["current_value"] == 0.75
    assert adherence["target_met"] is False
    assert abstinence["current_value"] == 10.0  # use 10 days ago

    screen_services.screen_record(
        enrollment=patient,
        actor=counselor,
        collected_on=today - timedelta(days=2),
        method=ScreenMethod.URINE,
        status=ScreenStatus.COMPLETED,
        observed=True,
        results=[screen_services.ResultInput("cocaine", SubstanceResult.POSITIVE)],
    )
    abstinence = plan_progress(plan)[plan.goals.order_by("id").last().id]
    assert abstinence["current_value"] == 2.0


# --- suggestions ------------------------------------------------------------------------


def _stage_entered(enrollment: Any, counselor: Any, at: datetime, stage: str) -> None:
    EnrollmentChange.objects.create(
        enrollment=enrollment,
        field="stage",
        new_value=stage,
        changed_by=counselor,
        changed_at=at,
    )


def test_next_stage_is_suggested_after_four_good_weeks_in_the_stage(patient, counselor):
    _stage_entered(patient, counselor, datetime(2026, 5, 6, 14, 0, tzinfo=UTC), "engagement")
    today = date(2026, 6, 3)
    for n in range(1, 29):
        if n not in (3, 9, 15, 21, 27):  # 23 of 28: 82%
            checkin(patient, evening(today - timedelta(days=n)))
    suggestion = care_suggestion(enrollment=patient)
    assert suggestion.days_in_stage == 28
    assert suggestion.checkin_adherence == pytest.approx(23 / 28, abs=0.001)
    assert suggestion.suggested_stage == Stage.EARLY_RECOVERY
    assert suggestion.suggested_level_of_care is None
    patient.refresh_from_db()
    assert patient.stage == Stage.ENGAGEMENT  # suggested, never made


def test_no_suggestion_before_four_weeks_in_the_stage(patient, counselor):
    _stage_entered(patient, counselor, datetime(2026, 5, 8, 14, 0, tzinfo=UTC), "engagement")
    today = date(2026, 6, 3)
    for n in range(1, 29):
        checkin(patient, evening(today - timedelta(days=n)))
    suggestion = care_suggestion(enrollment=patient)
    assert suggestion.suggested_stage is None
    assert any("26 days; 28 needed" in r for r in suggestion.reasons)


@pytest.mark.parametrize("blocker", ["use", "positive", "missed", "adherence"])
def test_no_stage_suggestion_with_use_a_positive_or_missed_screen_or_low_adherence(
    patient, counselor, blocker
):
    today = date(2026, 6, 3)
    for n in range(1, 29):
        if blocker == "adherence" and n % 3 == 0:
            continue
        checkin(patient, evening(today - timedelta(days=n)), used=blocker == "use" and n == 5)
    if blocker in ("positive", "missed"):
        screen_services.screen_record(
            enrollment=patient,
            actor=counselor,
            collected_on=today - timedelta(days=6),
            method=ScreenMethod.URINE,
            status=ScreenStatus.COMPLETED if blocker == "positive" else ScreenStatus.MISSED,
            observed=True if blocker == "positive" else None,
            results=[screen_services.ResultInput("opiates", SubstanceResult.POSITIVE)]
            if blocker == "positive"
            else [],
        )
    suggestion = care_suggestion(enrollment=patient)
    assert suggestion.suggested_stage is None
    assert suggestion.suggested_level_of_care is None


def test_a_prescribed_positive_does_not_block_a_suggestion(patient, counselor):
    today = date(2026, 6, 3)
    for n in range(1, 29):
        checkin(patient, evening(today - timedelta(days=n)))
    screen_services.screen_record(
        enrollment=patient,
        actor=counselor,
        collected_on=today - timedelta(days=6),
        method=ScreenMethod.URINE,
        status=ScreenStatus.COMPLETED,
        observed=False,
        results=[
            screen_services.ResultInput("buprenorphine", SubstanceResult.POSITIVE, True),
            screen_services.ResultInput("fentanyl", SubstanceResult.NEGATIVE),
        ],
    )
    assert care_suggestion(enrollment=patient).suggested_stage == Stage.EARLY_RECOVERY


def test_repeated_use_suggests_more_support(patient, counselor):
    today = date(2026, 6, 3)
    for n in range(1, 29):
        checkin(patient, evening(today - timedelta(days=n)), used=n in (2, 9))
    screen_services.screen_record(
        enrollment=patient,
        actor=counselor,
        collected_on=today,
        method=ScreenMethod.ORAL_FLUID,
        status=ScreenStatus.COMPLETED,
        observed=True,
        results=[screen_services.ResultInput("fentanyl", SubstanceResult.POSITIVE)],
    )
    suggestion = care_suggestion(enrollment=patient)
    assert suggestion.suggested_level_of_care == "2.5"  # the program offers 1, 2.1, 2.5
    assert suggestion.suggested_stage is None


def test_the_last_stage_suggests_stepping_down_and_the_program_sets_the_bar(patient, counselor):
    patient.stage = Stage.COMMUNITY_SUPPORT
    patient.save()
    today = date(2026, 6, 3)
    for n in range(1, 29):
        if n % 4:  # 75%
            checkin(patient, evening(today - timedelta(days=n)))
    assert care_suggestion(enrollment=patient).suggested_level_of_care is None
    ProgramMonitoringSettings.objects.create(
        program=patient.program, suggestion_min_checkin_adherence=Decimal("0.7")
    )
    assert care_suggestion(enrollment=patient).suggested_level_of_care == "1"


def test_a_severe_questionnaire_score_holds_the_next_stage_back(patient, counselor):
    import uuid

    from recovery.services.questionnaires import questionnaire_submit

    _stage_entered(patient, counselor, datetime(2026, 5, 6, 14, 0, tzinfo=UTC), "engagement")
    today = date(2026, 6, 3)
    for n in range(1, 29):
        checkin(patient, evening(today - timedelta(days=n)))
    questionnaire_submit(
        enrollment=patient,
        client_id=uuid.uuid4(),
        instrument="phq9",
        answers={str(i): "3" for i in range(1, 9)} | {"9": "0"},  # 24: severe
        device_time=evening(today - timedelta(days=2)),
        device_timezone="America/New_York",
    )
    suggestion = care_suggestion(enrollment=patient)
    assert suggestion.suggested_stage is None
    assert "Latest phq9 score 24 (Severe): severe." in suggestion.reasons
