"""A counselor's "not now" to a stage or level-of-care suggestion.

A suggestion is computed from the record each time it is asked for
(`recovery.selectors.suggestion`); dismissing it keeps that same suggestion from being
offered again for one suggestion window of the program, after which the record has had a
full window to say something new. A different suggestion is offered at once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from recovery.models.enrollment import Enrollment


class SuggestionDismissal(models.Model):
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="suggestion_dismissals"
    )
    # What was suggested ("" where that part suggested nothing).
    suggested_stage = models.CharField(max_length=24, blank=True)
    suggested_level_of_care = models.CharField(max_length=24, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    dismissed_at = models.DateTimeField()

    class Meta:
        ordering = ["-dismissed_at", "-id"]
        indexes = [models.Index(fields=["enrollment", "-dismissed_at"])]
