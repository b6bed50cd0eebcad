"""Consent-gated sharing with support contacts under 42 CFR Part 2.

A patient signs a consent naming a support contact, the events they may be told about,
the purpose and an expiry. When such an event happens a Disclosure row (the accounting
record, §2.25) is written and an email queued with the one dispatcher (notifications/); the
email is composed only if the consent still holds at the moment of sending, so a revocation
stops messages already queued. Every attempt, sent or blocked, is audited.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from backend import metrics
from backend.errors import ServiceError
from notifications.kinds import Email
from notifications.models import Notification, NotificationState
from notifications.services import notify_email
from recovery.models import (
    AuditEntry,
    Consent,
    Disclosure,
    Enrollment,
    ShareableEvent,
    SupportContact,
)
from recovery.services.audit import RequestMeta, audit_record

PART2_NOTICE = "42 CFR part 2 prohibits unauthorized use or disclosure of these records."
DISCLOSURE_KIND = "disclosure"

EVENT_SENTENCES = {
    ShareableEvent.MISSED_CHECKINS_IN_A_ROW: "has missed two daily check-ins in a row",
    ShareableEvent.URGE: "asked for support during a difficult moment",
    ShareableEvent.HIGH_CRAVING: "is going through a hard time right now",
    ShareableEvent.SUBSTANCE_USE: "reported a setback",
}


def consent_problems(
    *,
    enrollment: Enrollment | None = None,
    recipient: SupportContact | None = None,
    events: list[str] | None = None,
    purpose: str | None = None,
    expires_at: datetime | None = None,
    revocation_acknowledged: bool | None = None,
    signature: str | None = None,
) -> dict[str, list[str]]:
    """The §2.31 rules on whichever elements are given (None: not given), by field. The API
    checks every element that parsed, so a patient hears of every missing one at once."""
    errors: dict[str, list[str]] = {}
    if recipient is not None:
        if enrollment is not None and recipient.enrollment_id != enrollment.id:
            errors["recipient"] = ["Choose one of your own support contacts."]
        elif not recipient.email:
            errors["recipient"] = ["This contact has no email address to be told at."]
    if events is not None and (not events or not set(events) <= set(ShareableEvent.values)):
        errors["events"] = ["Choose at least one event to share."]
    if purpose is not None and not purpose.strip():
        errors["purpose"] = ["Say why the information is shared."]
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = ["The consent must expire in the future."]
    if revocation_acknowledged is not None and not revocation_acknowledged:
        errors["revocation_acknowledged"] = [
            "Confirm you know you can revoke this consent at any time in the app."
        ]
    if signature is not None and len(signature.strip()) < 2:
        errors["signature"] = ["Sign with your full name."]
    return errors


@transaction.atomic
def consent_sign(
    *,
    enrollment: Enrollment,
    recipient: SupportContact,
    events: list[str],
    purpose: str,
    expires_at: datetime,
    revocation_acknowledged: bool,
    signature: str,
    may_name_program: bool = False,
    may_name_substance: bool = False,
) -> Consent:
    """Record a consent. Every §2.31 element must be present, or nothing is saved."""
    now = timezone.now()
    errors = consent_problems(
        enrollment=enrollment,
        recipient=recipient,
        events=events,
        purpose=purpose,
        expires_at=expires_at,
        revocation_acknowledged=revocation_acknowledged,
        signature=signature,
    )
    if errors:
        raise ServiceError(errors)
    return Consent.objects.create(
        enrollment=enrollment,
        disclosing_party=enrollment.program.name,
        recipient=recipient,
        events=sorted(set(events)),
        may_name_program=may_name_program,
        may_name_substance=may_name_substance,
        purpose=purpose.strip(),
        expires_at=expires_at,
        revocation_acknowledged=True,
        signature=signature.strip(),
        signed_at=now,
    )


def consent_revoke(*, consent: Consent) -> Consent:
    """Takes effect at once, also for disclosures already queued."""
    if consent.revoked_at is None:
        consent.revoked_at = timezone.now()
        consent.save(update_fields=["revoked_at"])
    return consent


def _in_force(consent: Consent, now: datetime) -> str:
    if consent.revoked_at is not None:
        return "consent revoked"
    if consent.expires_at <= now:
        return "consent expired"
    return ""


def disclosures_queue(
    *, enrollment: Enrollment, event: str, event_key: str, substances: list[str] | None = None
) -> list[Disclosure]:
    """Queue a message for each consent in force that covers this event; audit every
    consent that does not (revoked, expired, or not covering it). Runs in the caller's
    transaction; sending happens after commit."""
    now = timezone.now()
    consents = Consent.objects.filter(enrollment=enrollment).select_related(
        "recipient", "enrollment__program", "enrollment__patient"
    )
    queued = []
    for consent in consents:
        reason = _in_force(consent, now) or (
            "" if event in consent.events else "event not covered by consent"
        )
        if reason:
            audit_record(
                actor=None,
                action=AuditEntry.Action.DISCLOSE,
                resource=f"disclosure:not-sent:{reason}",
                enrollment_ids=[enrollment.id],
                meta=RequestMeta(),
            )
            continue
        try:
            with transaction.atomic():
                queued.append(
                    Disclosure.objects.create(
                        consent=consent,
                        enrollment=enrollment,
                        event=event,
                        event_key=event_key,
                        recipient_name=consent.recipient.name,
                        recipient_email=consent.recipient.email,
                        information=_message(consent, event, substances or []),
                        created_at=now,
                    )
                )
        except IntegrityError:
            continue  # this event was already shared under this consent
    for disclosure in queued:
        # Only an opaque id travels with the outbox row; the text and the address stay
        # encrypted in the Disclosure until the email is composed.
        notify_email(
            kind=DISCLOSURE_KIND,
            key=f"disclosure:{disclosure.id}",
            payload={"disclosure_id": disclosure.id},
        )
    return queued


def _message(consent: Consent, event: str, substances: list[str]) -> str:
    patient = consent.enrollment.patient.first_name or "Someone you support"
    sentence = EVENT_SENTENCES[ShareableEvent(event)]
    if event == ShareableEvent.SUBSTANCE_USE and consent.may_name_substance and substances:
        sentence = f"reported using {', '.join(substances)}"
    lines = [
        f"Hello {consent.recipient.name},",
        "",
        f"{patient} asked us to let you know that they {sentence}.",
        "A call or a message from you could help.",
    ]
    if consent.may_name_program:
        lines.append(f"This message comes from {consent.disclosing_party}.")
    lines += ["", f"Purpose of this message: {consent.purpose}", "", PART2_NOTICE]
    return "\n".join(lines)


class DisclosureEmail:
    """The email hooks of the disclosure kind: composed and settled by the dispatcher."""

    def compose(self, notification: Notification, *, now: datetime) -> Email | str:
        disclosure = Disclosure.objects.select_related("consent").get(
            id=notification.payload["disclosure_id"]
        )
        reason = _in_force(disclosure.consent, now)
        if reason:
            return reason
        return Email(
            to=disclosure.recipient_email,
            subject="A message from someone you support",
            body=disclosure.information,
        )

    def settle(self, notification: Notification, *, state: str, reason: str) -> None:
        outcome: str = Disclosure.State.FAILED
        if state == NotificationState.SENT:
            outcome = Disclosure.State.SENT
        elif state == NotificationState.CANCELLED:
            outcome = Disclosure.State.BLOCKED
        metrics.CONSENT_EMAILS.labels(outcome=outcome).inc()
        disclosure = Disclosure.objects.get(id=notification.payload["disclosure_id"])
        Disclosure.objects.filter(id=disclosure.id).update(
            state=outcome,
            blocked_reason=reason[:100],
            sent_at=timezone.now() if outcome == Disclosure.State.SENT else None,
        )
        audit_record(
            actor=None,
            action=AuditEntry.Action.DISCLOSE,
            resource=f"disclosure:{outcome}:{reason}" if reason else f"disclosure:{outcome}",
            enrollment_ids=[disclosure.enrollment_id],
            meta=RequestMeta(),
        )


DISCLOSURE_EMAIL = DisclosureEmail()
