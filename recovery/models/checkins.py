from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from recovery.encryption import EncryptedTextField
from recovery.models.enrollment import Enrollment


class Trigger(models.TextChoices):
    STRESS = "stress", "Stress"
    CONFLICT = "conflict", "Conflict with someone"
    LONELINESS = "loneliness", "Loneliness"
    BOREDOM = "boredom", "Boredom"
    PEOPLE_PLACES = "people_places", "People or places linked to use"
    CUES = "cues", "Seeing or smelling the substance"
    PAIN = "pain", "Physical pain"
    CELEBRATION = "celebration", "Celebration"
    TIREDNESS = "tiredness", "Tiredness"
    HUNGER = "hunger", "Hunger"
    ANGER = "anger", "Anger"
    MONEY = "money", "Money worries"
    WORK = "work", "Work or school"
    OTHER = "other", "Other"


class CheckIn(models.Model):
    """A daily check-in. The client's own UUID makes retried uploads idempotent."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="checkins")
    client_id = models.UUIDField(default=uuid.uuid4)
    mood = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    craving = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    used_substance = models.BooleanField()
    substances = models.JSONField(default=list, blank=True)
    triggers = models.JSONField(default=list, blank=True)
    trigger_other = EncryptedTextField(max_length=200, blank=True)
    hours_slept = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    medication_taken = models.BooleanField(null=True, blank=True)
    self_harm_thoughts = models.BooleanField(null=True, blank=True)
    note = EncryptedTextField(max_length=2000, blank=True)
    device_time = models.DateTimeField()
    device_timezone = models.CharField(max_length=64)
    received_at = models.DateTimeField()
    is_late = models.BooleanField(default=False)
    payload_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-device_time", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "client_id"], name="uniq_checkin_client_id"
            )
        ]
        indexes = [models.Index(fields=["enrollment", "-device_time"])]


class CheckInSchedule(models.Model):
    """When a patient is expected to check in, in their local time.

    `next_due_at` is the denormalised UTC deadline (due_by plus grace) of the next window
    that has not been satisfied. It is NULL while paused or discharged, so the missed
    check-in sweep reads only the partial index of rows that can be due.
    """

    enrollment = models.OneToOneField(
        Enrollment, on_delete=models.CASCADE, related_name="checkin_schedule"
    )
    opens_at = models.TimeField()
    due_by = models.TimeField()
    days_of_week = models.JSONField(default=list)  # ISO weekdays, 1 = Monday
    grace_minutes = models.PositiveIntegerField(default=60, validators=[MaxValueValidator(12 * 60)])
    paused = models.BooleanField(default=False)
    paused_reason = models.CharField(max_length=200, blank=True)
    next_due_at = models.DateTimeField(null=True, blank=True)
    next_window_date = models.DateField(null=True, blank=True)
    consecutive_missed = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_due_at"],
                name="checkin_schedule_due_idx",
                condition=Q(next_due_at__isnull=False),
            )
        ]


class UrgeEvent(models.Model):
    """A press of the urge button: "I am having a craving right now"."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="urges")
    intensity = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    note = EncryptedTextField(max_length=2000, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
