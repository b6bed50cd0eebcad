"""Consent-gated sharing with support contacts (42 CFR Part 2), through a real SMTP server."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from django.utils import timezone

from notifications.dispatch import dispatch_due
from recovery.models import AuditEntry, Disclosure
from recovery.services.checkins import checkin_submit, urge_record
from recovery.services.consent import PART2_NOTICE
from tests.conftest import client_for
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []

    def handle_message(self, message) -> None:  # type: ignore[override]
        self.messages.append(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp(settings) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def sponsor(enrollment):
    return ContactFactory(enrollment=enrollment, name="Robin", email="robin@example.org")


def _consent(enrollment, sponsor, **overrides):
    body = {
        "recipient": sponsor.id,
        "events": ["urge", "missed_checkins_in_a_row"],
        "purpose": "So my sponsor can call me when I struggle.",
        "expires_at": (timezone.now() + timedelta(days=90)).isoformat(),
        "revocation_acknowledged": True,
        "signature": "Alex Rivera",
    }
    body.update(overrides)
    return client_for(enrollment.patient).post("/api/v1/consents/", body, format="json")


@pytest.mark.parametrize(
    "missing",
    ["recipient", "events", "purpose", "expires_at", "revocation_acknowledged", "signature"],
)
def test_a_consent_missing_an_element_is_refused(enrollment, sponsor, missing):
    body_overrides = {missing: None} if missing != "events" else {"events": []}
    response = _consent(enrollment, sponsor, **body_overrides)
    assert response.status_code == 400
    assert missing in response.json()["error"]["fields"]
    assert not enrollment.consents.exists()


def test_consent_cannot_name_someone_elses_contact(enrollment, sponsor):
    from tests.factories import EnrollmentFactory

    other = EnrollmentFactory(program=enrollment.program)
    stranger = ContactFactory(enrollment=other, email="x@example.org")
    assert _consent(enrollment, sponsor, recipient=stranger.id).status_code == 400


def test_someone_elses_contact_answers_exactly_as_an_id_that_does_not_exist(enrollment, sponsor):
    from tests.factories import EnrollmentFactory

    stranger = ContactFactory(enrollment=EnrollmentFactory(), email="x@example.org")
    unknown_id = stranger.id + 1000
    theirs = _consent(enrollment, sponsor, recipient=stranger.id)
    unknown = _consent(enrollment, sponsor, recipient=unknown_id)
    assert theirs.status_code == unknown.status_code == 400
    as_unknown = theirs.content.decode().replace(str(stranger.id), str(unknown_id))
    assert as_unknown == unknown.content.decode()


def test_every_bad_element_of_a_consent_is_named_in_one_answer(enrollment, sponsor):
    from tests.factories import EnrollmentFactory

    stranger = ContactFactory(enrollment=EnrollmentFactory(), email="x@example.org")
    response = _consent(
        enrollment,
        sponsor,
        recipient=stranger.id,
        events=[],
        purpose="",
        expires_at=(timezone.now() - timedelta(days=1)).isoformat(),
        revocation_acknowledged=False,
        signature="x",
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {
        "recipient",
        "events",
        "purpose",
        "expires_at",
        "revocation_acknowledged",
        "signature",
    }


def test_service_rules_and_unknown_keys_come_with_the_field_errors(enrollment, sponsor):
    response = _consent(enrollment, sponsor, events=[], signature="x", recipient="abc", color=1)
    assert set(response.json()["error"]["fields"]) == {"events", "signature", "recipient", "color"}


def test_an_urge_tells_the_sponsor_by_email_with_the_part2_notice(enrollment, sponsor, smtp):
    assert _consent(enrollment, sponsor).status_code == 201
    urge_record(enrollment=enrollment)
    dispatch_due()  # the one dispatcher sends the email (and the care team's alert)
    (message,) = smtp.messages
    assert message["To"] == "robin@example.org"
    text = message.get_payload()
    assert PART2_NOTICE in text
    assert enrollment.program.name not in text  # the consent did not cover naming the clinic
    accounting = client_for(enrollment.patient).get("/api/v1/me/disclosures/").json()["results"]
    assert [(d["event"], d["state"], d["recipient"]) for d in accounting] == [
        ("urge", "sent", "Robin")
    ]
    assert AuditEntry.objects.filter(action="disclose", resource="disclosure:sent").count() == 1


def test_no_substance_is_named_unless_the_consent_covers_it(enrollment, sponsor, smtp):
    _consent(enrollment, sponsor, events=["substance_use"])
    _consent(
        enrollment,
        sponsor,
        events=["substance_use"],
        may_name_substance=True,
        may_name_program=True,
    )
    checkin_submit(
        enrollment=enrollment,
        client_id=uuid.uuid4(),
        data={
            "mood": 2,
            "craving": 6,
            "used_substance": True,
            "substances": ["alcohol"],
            "device_time": timezone.now(),
            "device_timezone": "UTC",
        },
    )
    dispatch_due()
    texts = sorted(m.get_payload() for m in smtp.messages)
    assert len(texts) == 2
    assert sum("alcohol" in t for t in texts) == 1
    assert sum(enrollment.program.name in t for t in texts) == 1


def test_revocation_stops_messages_already_queued(enrollment, sponsor, smtp):
    consent_id = _consent(enrollment, sponsor).json()["id"]
    urge_record(enrollment=enrollment)  # queued, not yet sent
    revoked = client_for(enrollment.patient).post(f"/api/v1/consents/{consent_id}/revoke/")
    assert revoked.status_code == 200
    dispatch_due()
    assert Disclosure.objects.get().state == Disclosure.State.BLOCKED
    assert smtp.messages == []
    assert Disclosure.objects.get().blocked_reason == "consent revoked"
    urge_record(enrollment=enrollment)  # after revocation: nothing queued, attempt audited
    assert Disclosure.objects.count() == 1
    assert AuditEntry.objects.filter(resource__contains="consent revoked").count() == 2


def test_expired_consent_discloses_nothing(enrollment, sponsor, smtp, time_machine):
    _consent(enrollment, sponsor, expires_at=(timezone.now() + timedelta(days=1)).isoformat())
    time_machine.move_to(timezone.now() + timedelta(days=2))
    urge_record(enrollment=enrollment)
    dispatch_due()
    assert smtp.messages == []
    assert AuditEntry.objects.filter(resource__contains="consent expired").exists()


def test_out_of_scope_events_disclose_nothing(enrollment, sponsor, smtp):
    _consent(enrollment, sponsor, events=["missed_checkins_in_a_row"])
    urge_record(enrollment=enrollment)
    dispatch_due()
    assert smtp.messages == []
    assert AuditEntry.objects.filter(resource__contains="not covered").exists()


def test_a_mail_server_that_is_down_is_retried_by_the_dispatcher(
    enrollment, sponsor, smtp, settings, time_machine
):
    from notifications.models import Notification

    _consent(enrollment, sponsor)
    urge_record(enrollment=enrollment)
    working_port, settings.EMAIL_PORT = settings.EMAIL_PORT, _free_port()  # nobody listens
    dispatch_due()
    email = Notification.objects.get(channel="email")
    assert (email.state, email.attempts, email.recipient_id) == ("pending", 1, None)
    assert Disclosure.objects.get().state == Disclosure.State.QUEUED
    settings.EMAIL_PORT = working_port
    time_machine.move_to(email.due_at + timedelta(seconds=1))
    dispatch_due()
    assert Disclosure.objects.get().state == Disclosure.State.SENT
    (message,) = smtp.messages
    assert PART2_NOTICE in message.get_payload()
    # Not an app notification: in nobody's inbox.
    assert not client_for(enrollment.patient).get("/api/v1/notifications/").json()["results"]
