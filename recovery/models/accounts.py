from __future__ import annotations

from datetime import time
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from backend.timezones import known_timezones


def validate_timezone(value: str) -> None:
    if value not in known_timezones():
        raise ValidationError(f"'{value}' is not an IANA time zone.")


def validate_offsets(value: object) -> None:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and 0 < v <= 7 * 24 * 60 for v in value
    ):
        raise ValidationError("Offsets are a list of minutes between 1 and 10080.")


def default_reminder_offsets() -> list[int]:
    return [24 * 60, 60]


def default_office_days() -> list[int]:
    return [1, 2, 3, 4, 5]


def validate_weekdays(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(v, int) and 1 <= v <= 7 for v in value):
        raise ValidationError("Office days are ISO weekdays, 1 (Monday) to 7 (Sunday).")


class LevelOfCare(models.TextChoices):
    """The ASAM continuum of care."""

    EARLY_INTERVENTION = "0.5", "0.5 Early intervention"
    OUTPATIENT = "1", "1 Outpatient"
    INTENSIVE_OUTPATIENT = "2.1", "2.1 Intensive outpatient"
    PARTIAL_HOSPITALIZATION = "2.5", "2.5 Partial hospitalization"
    RESIDENTIAL = "3", "3.x Residential"
    INPATIENT = "4", "4 Medically managed intensive inpatient"


class Program(models.Model):
    """An IOP or clinic. Everything clinical belongs to exactly one program."""

    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    levels_of_care = models.JSONField(default=list, blank=True)
    required_hours_per_week = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        default=Decimal("9.0"),
        validators=[MinValueValidator(Decimal("9")), MaxValueValidator(Decimal("30"))],
    )
    days_per_week = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(3), MaxValueValidator(5)]
    )
    # What makes a billable IOP service day and week (an IOP per diem such as HCPCS H0015
    # needs at least 3 hours a day on at least 3 days a week).
    service_day_min_hours = models.DecimalField(
        max_digits=3,
        decimal_places=1,
        default=Decimal("3.0"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("12"))],
    )
    service_week_min_days = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(7)]
    )
    reminder_offsets_minutes = models.JSONField(
        default=default_reminder_offsets, validators=[validate_offsets]
    )
    craving_threshold = models.PositiveSmallIntegerField(
        default=8, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    escalation_delay_minutes = models.PositiveIntegerField(
        default=4 * 60, validators=[MinValueValidator(5), MaxValueValidator(7 * 24 * 60)]
    )
    crisis_escalation_delay_minutes = models.PositiveIntegerField(
        default=15, validators=[MinValueValidator(1), MaxValueValidator(24 * 60)]
    )
    nudge_before_due_minutes = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(5), MaxValueValidator(12 * 60)]
    )
    # What a new patient starts with (staff change each patient's afterwards), on the
    # patient's wall clock: the daily check-in window and its grace, and the hours their
    # phone keeps quiet (none when either end is empty).
    checkin_opens_at = models.TimeField(default=time(17, 0))
    checkin_due_by = models.TimeField(default=time(22, 0))
    checkin_grace_minutes = models.PositiveIntegerField(
        default=60, validators=[MaxValueValidator(12 * 60)]
    )
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    # Kept by recovery.services.incentive_program: the longest active check-in streak
    # protocol, or null. Read with the patient at sign-in, so a check-in in a program
    # without one costs no query to find that out.
    incentive_streak_days = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    # A patient's app not heard from for this long gets one "please open the app" push,
    # and the caseload shows "app silent since".
    app_silent_after_days = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="Days without a word from a patient's app before it counts as silent.",
    )
    # When the care team reads messages, on the clinic's wall (`timezone`): a message sent
    # outside these hours gets an automatic answer saying when it will be read.
    office_days = models.JSONField(default=default_office_days, validators=[validate_weekdays])
    office_opens_at = models.TimeField(default=time(9, 0))
    office_closes_at = models.TimeField(default=time(17, 0))
    require_staff_2fa = models.BooleanField(
        default=False, help_text="Staff must sign in with a TOTP code as well."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(app_silent_after_days__gte=1, app_silent_after_days__lte=60),
                name="program_app_silent_after_days_range",
            ),
            models.CheckConstraint(
                condition=models.Q(office_closes_at__gt=models.F("office_opens_at")),
                name="program_office_closes_after_it_opens",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    COUNSELOR = "counselor", "Counselor"
    SUPERVISOR = "supervisor", "Supervisor"


class User(AbstractUser):
    """Anyone who logs in. Staff and patients alike belong to one program."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PATIENT)
    program = models.ForeignKey(
        Program, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )

    @property
    def is_patient(self) -> bool:
        return self.role == Role.PATIENT
