"""Every push the system can produce carries no PHI: it may show on a locked screen."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.dispatch import dispatch_due
from notifications.kinds import registered_kinds
from notifications.push import memory
from recovery.models import FlagKind, SessionKind
from recovery.notification_kinds import NotificationKind
from recovery.services.checkins import checkin_submit, urge_record
from recovery.services.flags import flags_escalate_due
from recovery.services.sessions import session_cancel, session_create, session_update
from tests.factories import DeviceFactory, EnrollmentFactory, SupervisorFactory

pytestmark = pytest.mark.django_db

SUBSTANCES = ["alcohol", "opioid", "heroin", "fentanyl", "cocaine", "meth", "cannabis"]


def _forbidden(enrollment) -> list[str]:
    program = enrollment.program
    counselor = enrollment.primary_counselor
    words = [
        enrollment.patient.first_name,
        enrollment.patient.last_name,
        program.name,
        counselor.first_name,
        counselor.last_name,
        "craving",
        "mood",
        "relapse",
        "self-harm",
        "suicid",
        "substance",
        "Process group",
        *SUBSTANCES,
        *[label for _, label in FlagKind.choices],
        *[label for _, label in SessionKind.choices],
    ]
    return [w.lower() for w in words if w]


def test_the_generic_texts_name_nothing_clinical():
    # Every kind recovery sends is registered, each with generic text.
    assert {kind.name for kind in registered_kinds()} >= set(NotificationKind.values)
    for kind in registered_kinds():
        text = f"{kind.push_title} {kind.push_body}".lower()
        for word in ("craving", "mood", "substance", "relapse", "alcohol", "opioid", "harm"):
            assert word not in text


def test_every_push_produced_end_to_end_is_free_of_phi(time_machine):
    supervisor = SupervisorFactory()
    enrollment = EnrollmentFactory(program=supervisor.program, patient__first_name="Zephyrine")
    staff = [enrollment.primary_counselor, supervisor]
    for user in [enrollment.patient, *staff]:
        DeviceFactory(user=user)
    enrollment.program.reminder_offsets_minutes = [60 * 24, 60]
    enrollment.program.save()

    start = timezone.now() + timedelta(days=2)
    session = session_create(
        program_id=enrollment.program_id,
        kind="group_therapy",
        title="Process group",
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        patients=[enrollment],
    )
    session_update(
        session=session, starts_at=start + timedelta(hours=1), ends_at=start + timedelta(hours=4)
    )
    other = session_create(
        program_id=enrollment.program_id,
        kind="drug_screen",
        title="Drug screen",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        patients=[enrollment],
    )
    session_cancel(session=other)
    checkin_submit(
        enrollment=enrollment,
        client_id=uuid.uuid4(),
        data={
            "mood": 1,
            "craving": 10,
            "used_substance": True,
            "substances": ["fentanyl"],
            "self_harm_thoughts": True,
            "device_time": timezone.now(),
            "device_timezone": "UTC",
            "note": "relapsed on fentanyl",
        },
    )
    urge_record(enrollment=enrollment, intensity=9, note="alcohol craving")
    dispatch_due()
    time_machine.move_to(timezone.now() + timedelta(hours=5))
    flags_escalate_due()
    dispatch_due()
    time_machine.move_to(start - timedelta(minutes=30))
    dispatch_due()

    kinds = {m.title for m in memory.outbox}
    assert len(memory.outbox) >= 8
    assert len(kinds) >= 4  # reminders, notices, flags, crisis
    forbidden = _forbidden(enrollment)
    # People's and the program's names as whole words (a patient named Chang is not in
    # "changed"); the clinical words as stems (suicid-e, relapse-d).
    names = set(forbidden[:5])
    for message in memory.outbox:
        visible = f"{message.title} {message.body} {message.data()}".lower()
        leaked = [
            w
            for w in forbidden
            if re.search(rf"\b{re.escape(w)}" + (r"\b" if w in names else ""), visible)
        ]
        assert leaked == [], f"push {message.title!r} leaks {leaked}"
        assert set(message.data()) == {"notification_id"}
