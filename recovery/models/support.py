from __future__ import annotations

from django.core.validators import EmailValidator
from django.db import models

from recovery.encryption import EncryptedTextField
from recovery.models.enrollment import Enrollment


class Relationship(models.TextChoices):
    SPONSOR = "sponsor", "Sponsor"
    FAMILY = "family", "Family"
    FRIEND = "friend", "Friend"
    PEER = "peer", "Peer"
    COUNSELOR = "counselor", "Counselor"
    OTHER = "other", "Other"


class SupportContact(models.Model):
    """Someone the patient can call; the patient orders the list."""

    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="support_contacts"
    )
    name = models.CharField(max_length=120)
    relationship = models.CharField(max_length=16, choices=Relationship.choices)
    phone = EncryptedTextField(max_length=32, blank=True)
    email = EncryptedTextField(max_length=254, blank=True, validators=[EmailValidator()])
    reachable_hours = models.CharField(max_length=120, blank=True)
    note = EncryptedTextField(max_length=1000, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # What an app syncs by (`updated_since`): every write goes through save() or sets it.
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["position", "id"]


class SupportContactDeletion(models.Model):
    """That a contact was deleted, for apps syncing the list: the contact row itself is
    gone (with its phone, email and note), so every other reader of contacts is unchanged
    and nothing the patient deleted is kept. Only the id and when."""

    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="support_contact_deletions"
    )
    contact_id = models.PositiveBigIntegerField()
    deleted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["enrollment", "deleted_at"])]
