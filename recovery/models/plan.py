"""The treatment plan: goals across the IOP's domains, each with a measurable target.

The care team writes the plan with the patient; the patient reads it, comments and agrees.
A goal's status changes are kept (who, when, from, to, note); a goal is never edited in
place: revising it closes it as "revised" and opens its successor. Progress is computed
from what the backend already records, or entered by hand for the `manual` metric.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from recovery.encryption import EncryptedTextField
from recovery.models.enrollment import Enrollment


class GoalDomain(models.TextChoices):
    SUBSTANCE_USE = "substance_use", "Substance use"
    COPING_SKILLS = "coping_skills", "Coping skills"
    MENTAL_HEALTH = "mental_health", "Mental health"
    PHYSICAL_HEALTH = "physical_health", "Physical health"
    FAMILY_RELATIONSHIPS = "family_relationships", "Family and relationships"
    PEER_SUPPORT = "peer_support", "Peer support"
    WORK_SCHOOL = "work_school", "Work or school"
    HOUSING = "housing", "Housing"
    LEGAL = "legal", "Legal"


class GoalMetric(models.TextChoices):
    """How a goal is measured. All but `manual` are computed from recorded data."""

    MUTUAL_HELP_MEETINGS_PER_WEEK = (
        "mutual_help_meetings_per_week",
        "Mutual-help meetings a week",
    )
    COPING_PRACTICE_DAYS_PER_WEEK = (
        "coping_practice_days_per_week",
        "Days a week a coping skill was practised",
    )
    SESSIONS_ATTENDED_PER_WEEK = "sessions_attended_per_week", "Program sessions attended a week"
    CHECKIN_ADHERENCE = "checkin_adherence", "Share of scheduled check-ins done (last 28 days)"
    ABSTINENT_DAYS = "abstinent_days", "Days in a row without use or a positive screen"
    QUESTIONNAIRE_SCORE = "questionnaire_score", "Questionnaire score at or below the target"
    MANUAL = "manual", "Recorded by hand"


class GoalStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    MET = "met", "Met"
    NOT_MET = "not_met", "Not met"
    REVISED = "revised", "Revised"
    DROPPED = "dropped", "Dropped"


class TreatmentPlan(models.Model):
    """One plan per enrollment. `review_due` is set at each stage change and cleared when
    a counselor records a review."""

    enrollment = models.OneToOneField(
        Enrollment, on_delete=models.CASCADE, related_name="treatment_plan"
    )
    summary = EncryptedTextField(max_length=4000, blank=True)
    review_due = models.BooleanField(default=False)
    review_due_since = models.DateTimeField(null=True, blank=True)
    review_due_reason = models.CharField(max_length=200, blank=True)
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    last_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    patient_agreed_at = models.DateTimeField(null=True, blank=True)
    content_changed_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["review_due_since"],
                name="plan_review_due_idx",
                condition=models.Q(review_due=True),
            )
        ]


class PlanGoal(models.Model):
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="goals")
    domain = models.CharField(max_length=24, choices=GoalDomain.choices)
    description = EncryptedTextField(max_length=500)
    metric = models.CharField(max_length=40, choices=GoalMetric.choices)
    target_value = models.DecimalField(max_digits=6, decimal_places=2)
    # For the questionnaire_score metric: which instrument's total is the measure.
    instrument = models.CharField(max_length=32, blank=True)
    due_date = models.DateField()
    status = models.CharField(max_length=16, choices=GoalStatus.choices, default=GoalStatus.ACTIVE)
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaced_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    status_changed_at = models.DateTimeField()

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["plan", "status"])]


class GoalStatusChange(models.Model):
    """Every status a goal has had, from its creation ("" to active) on."""

    goal = models.ForeignKey(PlanGoal, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, choices=GoalStatus.choices)
    note = EncryptedTextField(max_length=1000, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at", "id"]


class GoalProgressEntry(models.Model):
    """Progress recorded by hand, for goals the backend cannot measure."""

    goal = models.ForeignKey(PlanGoal, on_delete=models.CASCADE, related_name="progress_entries")
    value = models.DecimalField(max_digits=6, decimal_places=2)
    on_date = models.DateField()
    note = EncryptedTextField(max_length=1000, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-on_date", "-id"]


class PlanComment(models.Model):
    """The patient's (or a counselor's) word on the plan; `agrees` records the patient's
    agreement with the plan as it stood."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = EncryptedTextField(max_length=2000, blank=True)
    agrees = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]


class PlanReview(models.Model):
    """A counselor reviewed the plan (due at each stage change)."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="reviews")
    stage = models.CharField(max_length=24)
    note = EncryptedTextField(max_length=4000, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField()

    class Meta:
        ordering = ["reviewed_at", "id"]
