"""The patient's safety plan: the six steps of the Stanley-Brown Safety Planning
Intervention, then reasons for living and the patient's own high-risk situations with the
response to each. The patient and the care team write it together; every save that
changes it is a new version, naming who changed which sections. Items link to the
exercise library and to the patient's support contacts (never copies of them)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from recovery.encryption import EncryptedTextField
from recovery.models.enrollment import Enrollment
from recovery.models.exercises import Exercise
from recovery.models.support import SupportContact

MAX_PLAN_TEXT = 500


class PlanSection(models.TextChoices):
    """In the order the plan is read in a crisis (Stanley & Brown, 2012), then the two
    relapse-prevention sections."""

    WARNING_SIGNS = "warning_signs", _("Warning signs")
    INTERNAL_COPING = "internal_coping", _("Things I can do on my own to take my mind off it")
    DISTRACTION = "distraction", _("People and places that help me take my mind off it")
    ASK_FOR_HELP = "ask_for_help", _("People I can ask for help")
    PROFESSIONALS = "professionals", _("Professionals and crisis lines I can contact")
    SAFE_ENVIRONMENT = "safe_environment", _("Making my environment safe")
    REASONS_FOR_LIVING = "reasons_for_living", _("My reasons for living")
    HIGH_RISK = "high_risk", _("My high-risk situations and what I will do")


class SafetyPlan(models.Model):
    enrollment = models.OneToOneField(
        Enrollment, on_delete=models.CASCADE, related_name="safety_plan"
    )
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )


class SafetyPlanItem(models.Model):
    plan = models.ForeignKey(SafetyPlan, on_delete=models.CASCADE, related_name="items")
    section = models.CharField(max_length=24, choices=PlanSection.choices)
    position = models.PositiveSmallIntegerField()
    text = EncryptedTextField(max_length=MAX_PLAN_TEXT, blank=True)
    # For a high-risk situation: what the patient will do when it comes.
    response = EncryptedTextField(max_length=MAX_PLAN_TEXT, blank=True)
    exercise = models.ForeignKey(
        Exercise, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.ForeignKey(
        SupportContact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["section", "position", "id"]


class SafetyPlanVersion(models.Model):
    """One save that changed the plan: who, when, which sections, and the plan as it then
    was (encrypted; links as ids)."""

    plan = models.ForeignKey(SafetyPlan, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField()
    changed_sections = models.JSONField(default=list)
    snapshot = EncryptedTextField()

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "version"], name="uniq_safety_plan_version")
        ]
