"""A phone silent for the program's number of days gets one "please open the app" push per
silence (the missed-signal check), never one per run of the job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from notifications.models import Notification
from notifications.presence import heard_from
from recovery.models import EnrollmentStatus, Program
from recovery.notification_kinds import NotificationKind
from recovery.services.presence import nudge_silent_apps
from tests.factories import EnrollmentFactory, ProgramFactory

pytestmark = pytest.mark.django_db

HEARD = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)


def _heard(patient, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        assert heard_from(user_id=patient.id)


def _nudges(patient) -> list[Notification]:
    return list(
        Notification.objects.filter(recipient=patient, kind=NotificationKind.APP_SILENT).order_by(
            "id"
        )
    )


def test_a_silent_device_gets_exactly_one_nudge_per_silence() -> None:
    patient = EnrollmentFactory().patient  # the default program: 3 days
    _heard(patient, HEARD)

    assert nudge_silent_apps(now=HEARD + timedelta(days=2, hours=23)) == 0
    assert _nudges(patient) == []

    assert nudge_silent_apps(now=HEARD + timedelta(days=3, hours=1)) == 1
    for hours in (2, 30, 100):  # the job runs every hour; the silence goes on
        assert nudge_silent_apps(now=HEARD + timedelta(days=3, hours=hours)) == 0
    (nudge,) = _nudges(patient)
    assert nudge.push
    assert not nudge.urgent
    assert nudge.payload == {"silent_since": HEARD.isoformat()}

    # The app is heard from again, then falls silent again: a new silence, a new nudge.
    back = HEARD + timedelta(days=10)
    _heard(patient, back)
    assert nudge_silent_apps(now=back + timedelta(days=1)) == 0
    assert nudge_silent_apps(now=back + timedelta(days=3, minutes=1)) == 1
    assert nudge_silent_apps(now=back + timedelta(days=4)) == 0
    assert len(_nudges(patient)) == 2


def test_the_program_sets_how_long_a_silence_is() -> None:
    patient = EnrollmentFactory(program=ProgramFactory(app_silent_after_days=7)).patient
    _heard(patient, HEARD)

    assert nudge_silent_apps(now=HEARD + timedelta(days=6)) == 0
    assert nudge_silent_apps(now=HEARD + timedelta(days=7, hours=1)) == 1


def test_no_nudge_for_a_discharged_patient_or_an_app_never_heard_from() -> None:
    discharged = EnrollmentFactory(status=EnrollmentStatus.DISCHARGED).patient
    _heard(discharged, HEARD)
    never = EnrollmentFactory().patient

    assert nudge_silent_apps(now=HEARD + timedelta(days=30)) == 0
    assert _nudges(discharged) == _nudges(never) == []


def test_a_silence_setting_out_of_range_is_refused() -> None:
    program = ProgramFactory()
    for days in (0, 61):
        program.app_silent_after_days = days
        with pytest.raises(ValidationError) as refused:
            program.full_clean()
        assert "app_silent_after_days" in refused.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        Program.objects.filter(id=program.id).update(app_silent_after_days=0)
