from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from recovery.models.accounts import Program

# HIPAA keeps its documentation six years (45 CFR 164.316(b)(2)); state rules for medical
# records vary, and are often longer: a program may keep more, never less than this here.
MIN_YEARS = 6


class ProgramRetentionPolicy(models.Model):
    """How long a program keeps a discharged patient's records, counted from discharge.

    Created with its defaults on first use. The retention job (recovery/services/
    retention.py) deletes check-ins (and urge presses) and notifications past their period;
    the audit trail is append-only and is never deleted by it, whatever these say.
    """

    program = models.OneToOneField(
        Program, on_delete=models.CASCADE, related_name="retention_policy"
    )
    checkins_years = models.PositiveSmallIntegerField(
        default=MIN_YEARS,
        validators=[MinValueValidator(MIN_YEARS), MaxValueValidator(100)],
        help_text="Years after discharge that check-ins and urge presses are kept.",
    )
    notifications_years = models.PositiveSmallIntegerField(
        default=MIN_YEARS,
        validators=[MinValueValidator(MIN_YEARS), MaxValueValidator(100)],
        help_text="Years after discharge that notifications to and about the patient are kept.",
    )
    audit_years = models.PositiveSmallIntegerField(
        default=MIN_YEARS,
        validators=[MinValueValidator(MIN_YEARS), MaxValueValidator(100)],
        help_text="Years the audit trail is kept at least (it is never deleted automatically).",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(checkins_years__gte=MIN_YEARS)
                & models.Q(notifications_years__gte=MIN_YEARS)
                & models.Q(audit_years__gte=MIN_YEARS),
                name="retention_at_least_six_years",
            )
        ]

    def __str__(self) -> str:
        return f"Retention policy of program {self.program_id}"
