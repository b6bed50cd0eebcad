"""Secure messages between a patient and their care team: one conversation per patient.

The program's care team for the patient and its supervisors read the conversation; the
patient writes as themselves and each counselor answers as themselves. Message text is
encrypted at rest like clinical notes. A read marker per reader is what read receipts and
unread counts are computed from.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from recovery.encryption import EncryptedTextField
from recovery.models.enrollment import Enrollment

MAX_MESSAGE_LENGTH = 2000


class Conversation(models.Model):
    enrollment = models.OneToOneField(
        Enrollment, on_delete=models.CASCADE, related_name="conversation"
    )
    created_at = models.DateTimeField()
    last_message_at = models.DateTimeField(null=True, blank=True)


class MessageAuthor(models.TextChoices):
    PATIENT = "patient", "Patient"
    STAFF = "staff", "Care team"
    AUTOMATIC = "automatic", "Automatic answer"


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    author_kind = models.CharField(max_length=16, choices=MessageAuthor.choices)
    # Null for an automatic answer; a staff member who leaves keeps their messages.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    body = EncryptedTextField(max_length=MAX_MESSAGE_LENGTH)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["conversation", "-id"])]


class ReadMarker(models.Model):
    """How far one reader has read a conversation: every message up to `last_read_id`."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="read_markers"
    )
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_read_id = models.BigIntegerField(default=0)
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "reader"], name="uniq_read_marker")
        ]
