"""What a Spanish-speaking patient reads is in Spanish even when no request of theirs is
running: crisis lines in any answer, the crisis message a check-in sends, milestones and
the restart message written by the hourly job."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime, time

import pytest
import time_machine
from django.apps import apps as django_apps
from django.utils import translation

from notifications.models import Notification, NotificationPreference
from recovery.crisis import crisis_resources
from recovery.notification_kinds import NotificationKind
from recovery.services.milestones import recovery_milestones_detect
from recovery.services.schedules import checkin_schedule_set
from recovery.services.sessions import reminders_for, session_cancel
from tests.conftest import client_for
from tests.factories import EnrollmentFactory, SessionFactory
from tests.recovery.test_api_checkins import checkin_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def spanish(program, counselor):
    return EnrollmentFactory(
        program=program, primary_counselor=counselor, start_date=date(2026, 6, 1), language="es"
    )


def test_the_crisis_lines_in_spanish_say_how_to_reach_them_in_spanish(spanish):
    lines = client_for(spanish.patient).get("/api/v1/me/support/").json()["crisis_resources"]
    by_phone = {line["phone"] or line["sms"]: line for line in lines}
    assert by_phone["988"]["name"] == "988 Línea de Prevención del Suicidio y Crisis"
    assert "oprime 2" in by_phone["988"]["description"]
    assert by_phone["1-800-662-4357"]["name"] == "Línea Nacional de Ayuda de SAMHSA"
    assert "AYUDA" in by_phone["741741"]["description"]
    with translation.override("en"):
        assert crisis_resources()[0]["name"] == "988 Suicide & Crisis Lifeline"


def test_a_crisis_check_in_sends_the_patient_spanish_text_and_lines(spanish):
    client_for(spanish.patient).post(
        "/api/v1/checkins/", checkin_body(self_harm_thoughts=True), format="json"
    )
    sent = Notification.objects.get(kind=NotificationKind.CRISIS_RESOURCES)
    assert sent.title == "No estás solo ni sola"
    assert "Tu equipo de atención" in sent.body
    assert sent.payload["crisis_resources"][1]["name"] == "Línea Nacional de Ayuda de SAMHSA"


def test_the_hourly_job_writes_a_milestone_in_the_patients_language(spanish, counselor):
    with translation.override("en"):  # the job's own language is not the patient's
        recovery_milestones_detect(now=datetime(2026, 6, 7, 4, 30, tzinfo=UTC))
    to_patient = Notification.objects.get(kind="recovery_milestone", recipient=spanish.patient)
    assert to_patient.title == "Un logro"
    assert to_patient.body.startswith("7 días.")
    to_team = Notification.objects.get(kind="recovery_milestone", recipient=counselor)
    assert to_team.title == "Recovery milestone"


def test_a_counselor_sets_the_schedule_and_the_nudge_is_in_the_patients_language(spanish):
    with (
        time_machine.travel(datetime(2026, 6, 1, 16, 0, tzinfo=UTC), tick=False),
        translation.override("en"),  # the counselor's request
    ):
        checkin_schedule_set(
            enrollment=spanish,
            opens_at=time(17, 0),
            due_by=time(21, 0),
            days_of_week=[1, 2, 3, 4, 5, 6, 7],
            grace_minutes=60,
        )
    nudge = Notification.objects.get(recipient=spanish.patient, kind="checkin_nudge")
    assert (nudge.title, nudge.body) == (
        "Hora de tu registro diario",
        "Un minuto para anotar cómo estás hoy.",
    )


def test_patients_already_in_spanish_get_spanish_pushes_after_the_migration(spanish, enrollment):
    migration = importlib.import_module(
        "recovery.migrations.0015_push_language_of_spanish_patients"
    )
    migration.copy_language(django_apps, None)
    assert NotificationPreference.objects.get(user=spanish.patient).language == "es"
    assert not NotificationPreference.objects.filter(user=enrollment.patient).exists()


def test_session_reminders_go_to_each_patient_in_their_own_language(spanish, enrollment):
    spanish.program.reminder_offsets_minutes = [24 * 60, 60]
    session = SessionFactory(
        program=spanish.program,
        title="Grupo de proceso",
        starts_at=datetime(2026, 6, 2, 22, 0, tzinfo=UTC),
        ends_at=datetime(2026, 6, 2, 23, 0, tzinfo=UTC),
    )
    with translation.override("en"):  # the counselor's request
        reminders = reminders_for(
            session,
            [spanish.patient_id, enrollment.patient_id],
            now=datetime(2026, 6, 1, 12, 0, tzinfo=UTC),
        )
    by_patient: dict[int, set[tuple[str, str]]] = {}
    for message in reminders:
        (patient_id,) = message.recipients
        by_patient.setdefault(patient_id, set()).add((message.title, message.body))
    assert by_patient[spanish.patient_id] == {
        ("Recordatorio: Grupo de proceso", "Empieza en 1 día."),
        ("Recordatorio: Grupo de proceso", "Empieza en 1 hora."),
    }
    assert by_patient[enrollment.patient_id] == {
        ("Reminder: Grupo de proceso", "Starts in 1 day."),
        ("Reminder: Grupo de proceso", "Starts in 1 hour."),
    }


def test_a_cancelled_session_is_told_to_each_patient_in_their_language(spanish, enrollment):
    session = SessionFactory(program=spanish.program, title="Grupo de proceso")
    session.patients.set([spanish, enrollment])
    with translation.override("en"):
        session_cancel(session=session)
    notices = Notification.objects.filter(kind="session_cancelled")
    assert {(n.recipient_id, n.title, n.body) for n in notices} == {
        (spanish.patient_id, "Cancelada: Grupo de proceso", "Se canceló una sesión."),
        (enrollment.patient_id, "Cancelled: Grupo de proceso", "A session was cancelled."),
    }
