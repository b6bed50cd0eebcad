"""Writes of the treatment plan: the plan, its goals and their history, manual progress,
the patient's comments and agreement, and the reviews due at each stage change.

Every function validates everything before it writes, inside one transaction, so a refused
request leaves nothing behind. Who may call what is the API's business (staff write the
plan; the patient comments and agrees); these functions check the clinical rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from backend.errors import ServiceError
from recovery.dates import enrollment_today
from recovery.models import (
    Enrollment,
    EnrollmentStatus,
    GoalMetric,
    GoalProgressEntry,
    GoalStatus,
    GoalStatusChange,
    PlanComment,
    PlanGoal,
    PlanReview,
    Stage,
    TreatmentPlan,
    User,
)
from recovery.selectors.questionnaires import score_goal_problems

MAX_GOALS_PER_PLAN = 60

# The largest sensible target of each computed metric, and whether it counts whole things.
TARGET_LIMITS: dict[str, tuple[Decimal, bool]] = {
    GoalMetric.MUTUAL_HELP_MEETINGS_PER_WEEK: (Decimal(21), True),
    GoalMetric.COPING_PRACTICE_DAYS_PER_WEEK: (Decimal(7), True),
    GoalMetric.SESSIONS_ATTENDED_PER_WEEK: (Decimal(14), True),
    GoalMetric.CHECKIN_ADHERENCE: (Decimal(1), False),
    GoalMetric.ABSTINENT_DAYS: (Decimal(3650), True),
    GoalMetric.QUESTIONNAIRE_SCORE: (Decimal(999), True),
    GoalMetric.MANUAL: (Decimal("9999.99"), False),
}

# Where a goal may go from where it is. "revised" is reached only through goal_revise.
ALLOWED_STATUS_CHANGES: dict[str, set[str]] = {
    GoalStatus.ACTIVE: {GoalStatus.MET, GoalStatus.NOT_MET, GoalStatus.DROPPED},
    GoalStatus.MET: {GoalStatus.ACTIVE, GoalStatus.NOT_MET},
    GoalStatus.NOT_MET: {GoalStatus.ACTIVE, GoalStatus.MET},
    GoalStatus.DROPPED: {GoalStatus.ACTIVE},
    GoalStatus.REVISED: set(),
}


@dataclass(frozen=True)
class GoalInput:
    domain: str
    description: str
    metric: str
    target_value: Decimal
    due_date: date
    instrument: str = ""  # the questionnaire_score metric's instrument


def _require_active(enrollment: Enrollment) -> None:
    errors = plan_problems(enrollment=enrollment)
    if errors:
        raise ServiceError(errors)


def plan_problems(
    *, enrollment: Enrollment | None = None, creating: bool = False, goal_count: int | None = None
) -> dict[str, list[str]]:
    """The rules of writing a patient's plan, by field: the patient is in care (and has no
    plan yet when `creating` one), and the goals fit."""
    errors: dict[str, list[str]] = {}
    if enrollment is not None:
        if enrollment.status != EnrollmentStatus.ACTIVE:
            errors["patient"] = ["The patient is discharged."]
        elif creating and TreatmentPlan.objects.filter(enrollment=enrollment).exists():
            errors["patient"] = ["This patient already has a plan."]
    if goal_count is not None and goal_count > MAX_GOALS_PER_PLAN:
        errors["goals"] = [f"At most {MAX_GOALS_PER_PLAN} goals."]
    return errors


def goal_problems(
    *,
    enrollment: Enrollment | None = None,
    description: str | None = None,
    metric: str | None = None,
    target_value: Decimal | None = None,
    due_date: date | None = None,
    instrument: str | None = None,
    prefix: str = "",
) -> dict[str, list[str]]:
    """The rules of a goal on whichever fields are given (None: not given), by field: the
    API checks them together with its own field errors."""
    errors: dict[str, list[str]] = {}
    if metric is not None and instrument is not None:
        errors.update(score_goal_problems(enrollment, metric, instrument, prefix))
    if target_value is not None:
        limit, whole = TARGET_LIMITS.get(metric or "", (None, False))
        if target_value <= 0:
            errors[f"{prefix}target_value"] = ["Must be more than 0."]
        elif limit is not None and target_value > limit:
            errors[f"{prefix}target_value"] = [f"At most {limit} for this metric."]
        elif whole and target_value != target_value.to_integral_value():
            errors[f"{prefix}target_value"] = ["A whole number for this metric."]
    if due_date is not None and enrollment is not None and due_date < enrollment_today(enrollment):
        errors[f"{prefix}due_date"] = ["Cannot be in the past."]
    if description is not None and not description.strip():
        errors[f"{prefix}description"] = ["Say what the goal is."]
    return errors


def _validate_goal(enrollment: Enrollment, goal: GoalInput, *, prefix: str = "") -> None:
    errors = goal_problems(
        instrument=goal.instrument,
        enrollment=enrollment,
        description=goal.description,
        metric=goal.metric,
        target_value=goal.target_value,
        due_date=goal.due_date,
        prefix=prefix,
    )
    if errors:
        raise ServiceError(errors)


def _new_goal(plan: TreatmentPlan, goal: GoalInput, *, actor: User, now: datetime) -> PlanGoal:
    created = PlanGoal.objects.create(
        plan=plan,
        domain=goal.domain,
        description=goal.description.strip(),
        metric=goal.metric,
        target_value=goal.target_value,
        due_date=goal.due_date,
        instrument=goal.instrument,
        status=GoalStatus.ACTIVE,
        created_by=actor,
        created_at=now,
        status_changed_at=now,
    )
    GoalStatusChange.objects.create(
        goal=created,
        from_status="",
        to_status=GoalStatus.ACTIVE,
        note="created",
        changed_by=actor,
        changed_at=now,
    )
    return created


def _touch(plan: TreatmentPlan, now: datetime) -> None:
    plan.content_changed_at = now
    plan.save(update_fields=["content_changed_at"])


def plan_create(
    *, enrollment: Enrollment, actor: User, summary: str = "", goals: list[GoalInput] | None = None
) -> TreatmentPlan:
    """Write a patient's plan, with its first goals, in one go. One plan per patient."""
    goals = goals or []
    errors = plan_problems(enrollment=enrollment, goal_count=len(goals))
    if errors:
        raise ServiceError(errors)
    for index, goal in enumerate(goals):
        _validate_goal(enrollment, goal, prefix=f"goals.{index}.")
    now = timezone.now()
    with transaction.atomic():
        # Asked again inside the transaction: a plan written meanwhile is refused too.
        errors = plan_problems(enrollment=enrollment, creating=True)
        if errors:
            raise ServiceError(errors)
        plan = TreatmentPlan.objects.create(
            enrollment=enrollment,
            summary=summary,
            created_by=actor,
            created_at=now,
            content_changed_at=now,
        )
        for goal in goals:
            _new_goal(plan, goal, actor=actor, now=now)
    return plan


@transaction.atomic
def plan_update(*, plan: TreatmentPlan, actor: User, summary: str) -> TreatmentPlan:
    _require_active(plan.enrollment)
    if summary != plan.summary:
        plan.summary = summary
        plan.content_changed_at = timezone.now()
        plan.save(update_fields=["summary", "content_changed_at"])
    return plan


def goal_add(*, plan: TreatmentPlan, actor: User, goal: GoalInput) -> PlanGoal:
    _require_active(plan.enrollment)
    _validate_goal(plan.enrollment, goal)
    now = timezone.now()
    with transaction.atomic():
        errors = plan_problems(goal_count=PlanGoal.objects.filter(plan=plan).count() + 1)
        if errors:
            raise ServiceError(errors)
        created = _new_goal(plan, goal, actor=actor, now=now)
        _touch(plan, now)
    return created


def goal_status_problems(*, goal: PlanGoal, status: str | None = None) -> dict[str, list[str]]:
    """Whether a goal may move to `status` from where it is, by field."""
    errors = plan_problems(enrollment=goal.plan.enrollment)
    if status == GoalStatus.REVISED:
        errors["status"] = ["Revise a goal with its revise action."]
    elif status == goal.status:
        errors["status"] = [f"The goal is already {goal.status}."]
    elif status is not None and status not in ALLOWED_STATUS_CHANGES[goal.status]:
        errors["status"] = [f"A {goal.status} goal cannot become {status}."]
    return errors


def goal_revise_problems(*, goal: PlanGoal) -> dict[str, list[str]]:
    """Whether a goal may be revised at all, by field."""
    errors = plan_problems(enrollment=goal.plan.enrollment)
    if goal.status == GoalStatus.REVISED:
        errors["status"] = ["This goal was already revised."]
    return errors


@transaction.atomic
def goal_status_set(*, goal: PlanGoal, actor: User, status: str, note: str = "") -> PlanGoal:
    """Move a goal to met, not met, dropped or back to active; the change is kept."""
    _require_active(goal.plan.enrollment)
    errors = goal_status_problems(goal=goal, status=status)
    if errors:
        raise ServiceError(errors)
    now = timezone.now()
    GoalStatusChange.objects.create(
        goal=goal,
        from_status=goal.status,
        to_status=status,
        note=note,
        changed_by=actor,
        changed_at=now,
    )
    goal.status = status
    goal.status_changed_at = now
    goal.save(update_fields=["status", "status_changed_at"])
    _touch(goal.plan, now)
    return goal


def goal_revise(
    *,
    goal: PlanGoal,
    actor: User,
    note: str = "",
    description: str | None = None,
    metric: str | None = None,
    target_value: Decimal | None = None,
    due_date: date | None = None,
) -> PlanGoal:
    """Close a goal as revised and open its successor with the changes; return the new one.

    The old goal and its history stay as they were, so the record shows what was agreed
    and when it changed."""
    enrollment = goal.plan.enrollment
    errors = goal_revise_problems(goal=goal)
    if errors:
        raise ServiceError(errors)
    successor = GoalInput(
        domain=goal.domain,
        description=description if description is not None else goal.description,
        metric=metric or goal.metric,
        target_value=target_value if target_value is not None else goal.target_value,
        due_date=due_date or goal.due_date,
        instrument=goal.instrument if (metric or goal.metric) == goal.metric else "",
    )
    if (
        successor.description == goal.description
        and successor.metric == goal.metric
        and successor.target_value == goal.target_value
        and successor.due_date == goal.due_date
    ):
        raise ServiceError({"non_field_errors": ["Change the description, target or date."]})
    _validate_goal(enrollment, successor)
    now = timezone.now()
    with transaction.atomic():
        GoalStatusChange.objects.create(
            goal=goal,
            from_status=goal.status,
            to_status=GoalStatus.REVISED,
            note=note,
            changed_by=actor,
            changed_at=now,
        )
        goal.status = GoalStatus.REVISED
        goal.status_changed_at = now
        goal.save(update_fields=["status", "status_changed_at"])
        created = _new_goal(goal.plan, successor, actor=actor, now=now)
        created.replaces = goal
        created.save(update_fields=["replaces"])
        _touch(goal.plan, now)
    return created


def goal_progress_problems(
    *, goal: PlanGoal, value: Decimal | None = None, on_date: date | None = None
) -> dict[str, list[str]]:
    """The rules of progress entered by hand on whichever fields are given, by field."""
    errors = plan_problems(enrollment=goal.plan.enrollment)
    if goal.metric != GoalMetric.MANUAL:
        errors["value"] = ["This goal's progress is computed from the record."]
    elif value is not None and value < 0:
        errors["value"] = ["Cannot be negative."]
    if goal.status != GoalStatus.ACTIVE:
        errors["status"] = [f"The goal is {goal.status}."]
    if on_date is not None and on_date > enrollment_today(goal.plan.enrollment):
        errors["on_date"] = ["Cannot be in the future."]
    return errors


def goal_progress_record(
    *, goal: PlanGoal, actor: User, value: Decimal, on_date: date | None = None, note: str = ""
) -> GoalProgressEntry:
    """Progress recorded by hand: only for goals the backend cannot measure."""
    enrollment = goal.plan.enrollment
    _require_active(enrollment)
    errors = goal_progress_problems(goal=goal, value=value, on_date=on_date)
    if errors:
        raise ServiceError(errors)
    day = on_date or enrollment_today(enrollment)
    return GoalProgressEntry.objects.create(
        goal=goal,
        value=value,
        on_date=day,
        note=note,
        recorded_by=actor,
        recorded_at=timezone.now(),
    )


def plan_comment_problems(
    *, plan: TreatmentPlan, author: User, body: str | None = None, agrees: bool | None = None
) -> dict[str, list[str]]:
    """The rules of a comment on whichever fields are given (None: not given), by field."""
    errors: dict[str, list[str]] = {}
    if agrees and author.id != plan.enrollment.patient_id:
        errors["agrees"] = ["Only the patient agrees to their plan."]
    if agrees is False and body is not None and not body.strip():
        errors["body"] = ["Write a comment, or agree to the plan."]
    return errors


@transaction.atomic
def plan_comment_add(
    *, plan: TreatmentPlan, author: User, body: str = "", agrees: bool = False
) -> PlanComment:
    """A comment on the plan. The patient agrees to the plan as it stands with agrees."""
    errors = plan_comment_problems(plan=plan, author=author, body=body, agrees=agrees)
    if errors:
        raise ServiceError(errors)
    now = timezone.now()
    comment = PlanComment.objects.create(
        plan=plan, author=author, body=body, agrees=agrees, created_at=now
    )
    if agrees:
        plan.patient_agreed_at = now
        plan.save(update_fields=["patient_agreed_at"])
    return comment


@transaction.atomic
def plan_review_record(*, plan: TreatmentPlan, actor: User, note: str = "") -> PlanReview:
    """A counselor reviewed the plan; a review that was due is done."""
    _require_active(plan.enrollment)
    now = timezone.now()
    review = PlanReview.objects.create(
        plan=plan, stage=plan.enrollment.stage, note=note, reviewed_by=actor, reviewed_at=now
    )
    plan.review_due = False
    plan.review_due_since = None
    plan.review_due_reason = ""
    plan.last_reviewed_at = now
    plan.last_reviewed_by = actor
    plan.save(
        update_fields=[
            "review_due",
            "review_due_since",
            "review_due_reason",
            "last_reviewed_at",
            "last_reviewed_by",
        ]
    )
    return review


def plan_mark_review_due(
    *, enrollment: Enrollment, reason: str = "", now: datetime | None = None
) -> bool:
    """The plan is to be reviewed (call at each stage change). No plan: nothing to do.

    Returns whether a plan was marked. Safe inside the caller's transaction and safe to
    call twice: a review already due keeps its first date."""
    now = now or timezone.now()
    reason = reason or f"Stage changed to {Stage(enrollment.stage).label}."
    plan = TreatmentPlan.objects.filter(enrollment=enrollment).first()
    if plan is None:
        return False
    if not plan.review_due:
        plan.review_due = True
        plan.review_due_since = now
    plan.review_due_reason = reason[:200]
    plan.save(update_fields=["review_due", "review_due_since", "review_due_reason"])
    return True
