from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from recovery.models.accounts import LevelOfCare, Program, validate_timezone


class Stage(models.TextChoices):
    ENGAGEMENT = "engagement", "Treatment engagement"
    EARLY_RECOVERY = "early_recovery", "Early recovery"
    MAINTENANCE = "maintenance", "Maintenance"
    COMMUNITY_SUPPORT = "community_support", "Community support"


class Language(models.TextChoices):
    """The patient's language: questionnaires are shown in it where a translation exists."""

    ENGLISH = "en", "English"
    SPANISH = "es", "Spanish"


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DISCHARGED = "discharged", "Discharged"


class Enrollment(models.Model):
    """A patient's place in a program: the anchor of every clinical record."""

    patient = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="enrollment"
    )
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="enrollments")
    primary_counselor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="primary_enrollments",
    )
    care_team = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="CareTeamMember",
        related_name="care_team_enrollments",
    )
    level_of_care = models.CharField(
        max_length=4, choices=LevelOfCare.choices, default=LevelOfCare.INTENSIVE_OUTPATIENT
    )
    stage = models.CharField(max_length=24, choices=Stage.choices, default=Stage.ENGAGEMENT)
    status = models.CharField(
        max_length=16, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE
    )
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    start_date = models.DateField()
    expected_end_date = models.DateField(null=True, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    has_medication = models.BooleanField(default=False)
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.ENGLISH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["program", "status"])]

    def __str__(self) -> str:
        return f"Enrollment {self.pk}"


class CareTeamMember(models.Model):
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="members")
    counselor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_team_memberships"
    )
    is_primary = models.BooleanField(default=False)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "counselor"], name="uniq_care_team"),
            models.UniqueConstraint(
                fields=["enrollment"], condition=Q(is_primary=True), name="one_primary_counselor"
            ),
        ]


class EnrollmentChange(models.Model):
    """Every change of stage or level of care: stepping up or down the continuum."""

    class Field(models.TextChoices):
        STAGE = "stage", "Stage"
        LEVEL_OF_CARE = "level_of_care", "Level of care"
        STATUS = "status", "Status"

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="changes")
    field = models.CharField(max_length=16, choices=Field.choices)
    old_value = models.CharField(max_length=24, blank=True)
    new_value = models.CharField(max_length=24)
    reason = models.CharField(max_length=500, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at", "id"]


class EnrollmentCode(models.Model):
    """A one-time code a counselor hands to a patient; only its hash is stored."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
