from __future__ import annotations

from django.conf import settings
from django.db import models

from recovery.encryption import EncryptedTextField
from recovery.models.enrollment import Enrollment


class FlagKind(models.TextChoices):
    MISSED_CHECKIN = "missed_checkin", "Missed check-in"
    MISSED_CHECKINS_IN_A_ROW = "missed_checkins_in_a_row", "Missed check-ins in a row"
    HIGH_CRAVING = "high_craving", "High craving"
    SUBSTANCE_USE = "substance_use", "Reported substance use"
    URGE = "urge", "Urge button pressed"
    SELF_HARM = "self_harm", "Thoughts of self-harm"
    POSITIVE_SCREEN = "positive_screen", "Positive drug screen"
    MISSED_SCREEN = "missed_screen", "Missed or refused drug screen"
    MISSED_MEDICATION = "missed_medication", "Missed medication doses"
    SEVERE_SCORE = "severe_score", "Severe questionnaire score"
    SCORE_WORSENING = "score_worsening", "Questionnaire score worse by a reliable change"
    QUESTIONNAIRE_USE = "questionnaire_use", "Substance use reported on a questionnaire"


class Severity(models.IntegerChoices):
    INFO = 10, "Info"
    WARNING = 20, "Warning"
    URGENT = 30, "Urgent"
    CRISIS = 40, "Crisis"


class FlagStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class FlagResolution(models.TextChoices):
    """What resolving a flag came to; "no action needed" is what alert fatigue counts."""

    ACTION_TAKEN = "action_taken", "Action taken"
    NO_ACTION_NEEDED = "no_action_needed", "No action needed"


class Flag(models.Model):
    """Something a counselor must look at. One per patient, kind and window."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(max_length=32, choices=FlagKind.choices)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    window_key = models.CharField(max_length=64)
    # What fired it, for the counselor: {"craving": 9, "threshold": 8}, {"substances": [...]}.
    reason = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    outcome_note = EncryptedTextField(max_length=4000, blank=True)
    # Empty while the flag is open (and for flags resolved before this was recorded).
    resolution = models.CharField(max_length=20, choices=FlagResolution.choices, blank=True)
    escalate_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-severity", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "kind", "window_key"], name="uniq_flag_per_window"
            ),
        ]
        indexes = [
            models.Index(fields=["enrollment", "status"]),
            models.Index(
                fields=["escalate_at"],
                name="flag_escalation_due_idx",
                condition=models.Q(escalate_at__isnull=False),
            ),
        ]


class FlagEvent(models.Model):
    """Every transition of a flag, for the record."""

    class Action(models.TextChoices):
        RAISED = "raised", "Raised"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        ASSIGNED = "assigned", "Assigned"
        RESOLVED = "resolved", "Resolved"
        REOPENED = "reopened", "Reopened"
        ESCALATED = "escalated", "Escalated"

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = EncryptedTextField(max_length=4000, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
