"""Recovery days: the patient's counter of days since their last reported use, and the
milestones reached on it. The count itself is never stored (it is a function of the
record and today's date); what is stored is the patient's own choices and what was
already celebrated, so nothing is celebrated twice."""

from __future__ import annotations

from django.db import models

from recovery.models.enrollment import Enrollment


class RecoveryCounter(models.Model):
    enrollment = models.OneToOneField(
        Enrollment, on_delete=models.CASCADE, related_name="recovery_counter"
    )
    # The patient's own first day, set once (a date in their local calendar).
    start_date = models.DateField(null=True, blank=True)
    hidden = models.BooleanField(default=False)
    # The first day of the count the milestone job last saw: a later one means a restart.
    streak_start = models.DateField(null=True, blank=True)


class RecoveryMilestone(models.Model):
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="recovery_milestones"
    )
    streak_start = models.DateField()
    days = models.PositiveIntegerField()
    reached_on = models.DateField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-reached_on", "-days"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "streak_start", "days"], name="uniq_recovery_milestone"
            )
        ]
