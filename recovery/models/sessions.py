from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from recovery.models.accounts import Program, validate_timezone
from recovery.models.enrollment import Enrollment


class SessionKind(models.TextChoices):
    GROUP_THERAPY = "group_therapy", "Group therapy"
    INDIVIDUAL_THERAPY = "individual_therapy", "Individual therapy"
    FAMILY_COUNSELING = "family_counseling", "Family counseling"
    EDUCATIONAL_GROUP = "educational_group", "Educational group"
    SKILLS_TRAINING = "skills_training", "Skills training"
    SUPPORT_GROUP = "support_group", "Support group"
    DRUG_SCREEN = "drug_screen", "Drug screen"
    MEDICATION_APPOINTMENT = "medication_appointment", "Medication appointment"


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CANCELLED = "cancelled", "Cancelled"


class SessionSeries(models.Model):
    """A recurring session: an RFC 5545 rule over local wall time in an IANA zone."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="series")
    kind = models.CharField(max_length=32, choices=SessionKind.choices)
    title = models.CharField(max_length=200)
    rrule = models.CharField(max_length=500)
    start_date = models.DateField()
    start_time = models.TimeField()
    duration_minutes = models.PositiveIntegerField()
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    location = models.CharField(max_length=200, blank=True)
    video_url = models.URLField(max_length=500, blank=True)
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    patients = models.ManyToManyField(Enrollment, blank=True, related_name="series")
    ends_after = models.DateTimeField(null=True, blank=True)
    expanded_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class TreatmentSession(models.Model):
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="sessions")
    series = models.ForeignKey(
        SessionSeries, null=True, blank=True, on_delete=models.CASCADE, related_name="occurrences"
    )
    occurrence_key = models.DateTimeField(null=True, blank=True)
    kind = models.CharField(max_length=32, choices=SessionKind.choices)
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    video_url = models.URLField(max_length=500, blank=True)
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    patients = models.ManyToManyField(Enrollment, blank=True, related_name="sessions")
    status = models.CharField(
        max_length=16, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # What an app syncs by (`updated_since`): a move, a cancellation, a new roll.
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["program", "starts_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "occurrence_key"],
                condition=Q(series__isnull=False),
                name="uniq_series_occurrence",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="ends_after_start"
            ),
        ]


class AttendanceStatus(models.TextChoices):
    PRESENT = "present", "Present"
    LATE = "late", "Late"
    LEFT_EARLY = "left_early", "Left early"
    ABSENT = "absent", "Absent"
    EXCUSED = "excused", "Excused"


class Attendance(models.Model):
    session = models.ForeignKey(
        TreatmentSession, on_delete=models.CASCADE, related_name="attendance"
    )
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="attendance")
    status = models.CharField(max_length=16, choices=AttendanceStatus.choices)
    minutes_attended = models.PositiveIntegerField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "enrollment"], name="uniq_attendance"),
        ]
