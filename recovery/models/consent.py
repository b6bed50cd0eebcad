from __future__ import annotations

from django.db import models

from recovery.encryption import EncryptedTextField
from recovery.models.enrollment import Enrollment
from recovery.models.support import SupportContact


class ShareableEvent(models.TextChoices):
    """What a patient may let a support contact be told about.

    Questionnaire answers and scores are deliberately not among them, not even a BAM answer
    that reports use: §2.31 asks a consent to say how much and what kind of information is
    disclosed, and a patient who agreed to "I report using" in a check-in did not agree to
    share screening results on their mood or safety. Sharing those would need its own
    event the patient opts into."""

    MISSED_CHECKINS_IN_A_ROW = "missed_checkins_in_a_row", "I miss two check-ins in a row"
    URGE = "urge", "I press the urge button"
    HIGH_CRAVING = "high_craving", "I report a strong craving"
    SUBSTANCE_USE = "substance_use", "I report using"


class Consent(models.Model):
    """A 42 CFR Part 2 consent (§2.31): the patient, who may disclose, what, to whom, why,
    until when, the right to revoke and how, signed and dated. Immutable once signed;
    revoking sets `revoked_at`."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="consents")
    disclosing_party = models.CharField(max_length=200)
    recipient = models.ForeignKey(SupportContact, on_delete=models.PROTECT, related_name="consents")
    events = models.JSONField()
    may_name_program = models.BooleanField(default=False)
    may_name_substance = models.BooleanField(default=False)
    purpose = models.CharField(max_length=500)
    expires_at = models.DateTimeField()
    revocation_acknowledged = models.BooleanField()
    signature = models.CharField(max_length=200)
    signed_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-signed_at", "-id"]


class Disclosure(models.Model):
    """One message to a support contact under a consent, and what became of it. The
    patient's accounting of disclosures (§2.25) reads these."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        BLOCKED = "blocked", "Blocked (consent revoked or expired)"
        FAILED = "failed", "Failed"

    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="disclosures")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="disclosures")
    event = models.CharField(max_length=32, choices=ShareableEvent.choices)
    event_key = models.CharField(max_length=100)
    recipient_name = EncryptedTextField(max_length=120)
    recipient_email = EncryptedTextField(max_length=254)
    information = EncryptedTextField(max_length=2000, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    blocked_reason = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["consent", "event", "event_key"], name="uniq_disclosure_per_event"
            )
        ]
        indexes = [models.Index(fields=["state", "created_at"])]
