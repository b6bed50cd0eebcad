"""Peer support, drug monitoring and medications: how the plan is carried out.

Patients log mutual-help meetings; counselors record drug screens and the patient's
medications; medication adherence comes from the daily check-in's `medication_taken`.
A program's thresholds (missed doses before a flag, what a stage suggestion needs) live in
`ProgramMonitoringSettings`, created with its defaults on first use.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from recovery.encryption import EncryptedTextField
from recovery.models.accounts import Program
from recovery.models.enrollment import Enrollment


class Fellowship(models.TextChoices):
    AA = "aa", "Alcoholics Anonymous"
    NA = "na", "Narcotics Anonymous"
    SMART_RECOVERY = "smart_recovery", "SMART Recovery"
    REFUGE_RECOVERY = "refuge_recovery", "Refuge Recovery"
    OTHER = "other", "Other"


class MeetingFormat(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    ONLINE = "online", "Online"


class MutualHelpMeeting(models.Model):
    """A mutual-help meeting the patient went to, logged by the patient."""

    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="mutual_help_meetings"
    )
    fellowship = models.CharField(max_length=16, choices=Fellowship.choices)
    fellowship_other = models.CharField(max_length=100, blank=True)
    format = models.CharField(max_length=16, choices=MeetingFormat.choices)
    attended_on = models.DateField()
    note = EncryptedTextField(max_length=1000, blank=True)
    logged_at = models.DateTimeField()

    class Meta:
        ordering = ["-attended_on", "-id"]
        indexes = [models.Index(fields=["enrollment", "-attended_on"])]


class ScreenMethod(models.TextChoices):
    URINE = "urine", "Urine"
    ORAL_FLUID = "oral_fluid", "Oral fluid"
    BREATH = "breath", "Breath"
    BLOOD = "blood", "Blood"
    OTHER = "other", "Other"


class ScreenStatus(models.TextChoices):
    COMPLETED = "completed", "Completed"
    MISSED = "missed", "Missed"
    REFUSED = "refused", "Refused"


class ScreenSubstance(models.TextChoices):
    ALCOHOL = "alcohol", "Alcohol"
    AMPHETAMINES = "amphetamines", "Amphetamines"
    METHAMPHETAMINE = "methamphetamine", "Methamphetamine"
    BARBITURATES = "barbiturates", "Barbiturates"
    BENZODIAZEPINES = "benzodiazepines", "Benzodiazepines"
    BUPRENORPHINE = "buprenorphine", "Buprenorphine"
    CANNABIS = "cannabis", "Cannabis (THC)"
    COCAINE = "cocaine", "Cocaine"
    FENTANYL = "fentanyl", "Fentanyl"
    METHADONE = "methadone", "Methadone"
    OPIATES = "opiates", "Opiates"
    OXYCODONE = "oxycodone", "Oxycodone"
    MDMA = "mdma", "MDMA"
    PCP = "pcp", "Phencyclidine (PCP)"
    TRAMADOL = "tramadol", "Tramadol"
    XYLAZINE = "xylazine", "Xylazine"
    KRATOM = "kratom", "Kratom"
    OTHER = "other", "Other"


class SubstanceResult(models.TextChoices):
    NEGATIVE = "negative", "Negative"
    POSITIVE = "positive", "Positive"
    INCONCLUSIVE = "inconclusive", "Inconclusive"


class ScreenOutcome(models.TextChoices):
    """The screen as a whole, derived from its results when it is recorded."""

    NEGATIVE = "negative", "Negative"
    POSITIVE = "positive", "Positive (not prescribed)"
    EXPECTED_POSITIVE = "expected_positive", "Positive for prescribed medication only"
    INCONCLUSIVE = "inconclusive", "Inconclusive"
    MISSED = "missed", "Missed"
    REFUSED = "refused", "Refused"


class DrugScreen(models.Model):
    """A drug screen recorded by a counselor. A missed or refused screen has no results."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="screens")
    collected_on = models.DateField()
    method = models.CharField(max_length=16, choices=ScreenMethod.choices)
    status = models.CharField(max_length=16, choices=ScreenStatus.choices)
    outcome = models.CharField(max_length=24, choices=ScreenOutcome.choices)
    observed = models.BooleanField(null=True, blank=True)
    note = EncryptedTextField(max_length=2000, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-collected_on", "-id"]
        indexes = [models.Index(fields=["enrollment", "-collected_on"])]


class DrugScreenResult(models.Model):
    """One substance tested in a screen. `prescribed` marks an expected positive (for
    example buprenorphine for a patient on buprenorphine): it raises no flag."""

    screen = models.ForeignKey(DrugScreen, on_delete=models.CASCADE, related_name="results")
    substance = models.CharField(max_length=24, choices=ScreenSubstance.choices)
    result = models.CharField(max_length=16, choices=SubstanceResult.choices)
    prescribed = models.BooleanField(default=False)

    class Meta:
        ordering = ["substance", "id"]
        constraints = [
            models.UniqueConstraint(fields=["screen", "substance"], name="uniq_screen_substance")
        ]


class MedicationCategory(models.TextChoices):
    MOUD = "moud", "Medication for opioid use disorder"
    MAUD = "maud", "Medication for alcohol use disorder"
    OTHER = "other", "Other"


class Medication(models.Model):
    """A medication the patient takes. Current while start_date <= today <= end_date."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="medications")
    name = models.CharField(max_length=120)
    category = models.CharField(max_length=8, choices=MedicationCategory.choices)
    dose = models.CharField(max_length=200, blank=True)
    prescriber = models.CharField(max_length=120, blank=True)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    reminder_time = models.TimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="medication_ends_after_start",
            )
        ]


class ProgramMonitoringSettings(models.Model):
    """A program's thresholds for medication flags and stage suggestions."""

    program = models.OneToOneField(
        Program, on_delete=models.CASCADE, related_name="monitoring_settings"
    )
    missed_dose_days = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    unreported_dose_counts_as_missed = models.BooleanField(default=False)
    suggestion_window_days = models.PositiveSmallIntegerField(
        default=28, validators=[MinValueValidator(7), MaxValueValidator(90)]
    )
    suggestion_min_checkin_adherence = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.80"),
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal("1"))],
    )
    step_up_use_events = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
