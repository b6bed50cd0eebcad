"""Standardized questionnaires: a program's own instruments, its schedule, what is due
for each patient, and the scored responses. The published instruments live as data in
recovery/questionnaires/ (not in the database): they are versioned with the code."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from recovery.models.accounts import Program
from recovery.models.enrollment import Enrollment, Stage


class ProgramInstrument(models.Model):
    """An instrument a program defined for itself, as data (validated by the service
    before it is saved). A change is a new version; responses keep the version scored."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="instruments")
    code = models.CharField(max_length=32)
    version = models.CharField(max_length=32)
    definition = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["code", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "code", "version"], name="uniq_program_instrument_version"
            )
        ]


class QuestionnaireSchedule(models.Model):
    """Which instrument the program's patients take, how often (every_days; blank: once
    per enrollment, at intake, e.g. a C-SSRS screener), in which stage (blank: every
    stage), and how many days a questionnaire stays open once due."""

    program = models.ForeignKey(
        Program, on_delete=models.CASCADE, related_name="questionnaire_schedules"
    )
    instrument = models.CharField(max_length=32)
    every_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    stage = models.CharField(max_length=24, choices=Stage.choices, blank=True)
    window_days = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["program", "instrument", "stage"], name="uniq_questionnaire_schedule"
            )
        ]


class ProgramQuestionnaireSettings(models.Model):
    """A program's own alert thresholds ({instrument: {rule: above}}) over the published
    defaults, and its rule for "not improving"."""

    program = models.OneToOneField(
        Program, on_delete=models.CASCADE, related_name="questionnaire_settings"
    )
    alert_thresholds = models.JSONField(default=dict, blank=True)
    not_improving_after_days = models.PositiveSmallIntegerField(
        default=28, validators=[MinValueValidator(7), MaxValueValidator(365)]
    )


class AssignmentStatus(models.TextChoices):
    DUE = "due", "Due"
    COMPLETED = "completed", "Completed"
    MISSED = "missed", "Missed"


class AssignmentSource(models.TextChoices):
    SCHEDULE = "schedule", "Program schedule"
    COUNSELOR = "counselor", "Added by a counselor"
    RULE = "rule", "After a risk answer"


class QuestionnaireAssignment(models.Model):
    """One questionnaire due for one patient, open from `due_at` to `closes_at`."""

    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="questionnaire_assignments"
    )
    instrument = models.CharField(max_length=32)
    due_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.DUE
    )
    source = models.CharField(max_length=16, choices=AssignmentSource.choices)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["enrollment", "instrument", "-due_at"]),
            models.Index(
                fields=["closes_at"],
                name="questionnaire_open_idx",
                condition=Q(status="due"),
            ),
        ]
        # Two sweeps at once (two schedulers for a moment) or a counselor beside the sweep
        # must not leave a patient two open copies: two reminders, two rewards.
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "instrument"],
                condition=Q(status="due"),
                name="one_open_questionnaire_per_instrument",
            )
        ]


class QuestionnaireResponse(models.Model):
    """A completed questionnaire, scored on the server. The client's UUID makes retried
    uploads idempotent, as for check-ins."""

    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="questionnaire_responses"
    )
    assignment = models.ForeignKey(
        QuestionnaireAssignment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="responses",
    )
    instrument = models.CharField(max_length=32)
    instrument_version = models.CharField(max_length=32)
    language = models.CharField(max_length=8)
    client_id = models.UUIDField(default=uuid.uuid4)
    answers = models.JSONField()
    item_scores = models.JSONField(default=dict)
    scales = models.JSONField(default=dict)
    bands = models.JSONField(default=dict)
    total = models.IntegerField()
    band = models.CharField(max_length=64, blank=True)
    device_time = models.DateTimeField()
    device_timezone = models.CharField(max_length=64)
    received_at = models.DateTimeField()
    is_late = models.BooleanField(default=False)
    payload_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-device_time", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "client_id"], name="uniq_questionnaire_client_id"
            )
        ]
        indexes = [models.Index(fields=["enrollment", "instrument", "device_time"])]
