"""Program settings through the API: who may read and change them, validation, the audit
trail's old and new values, and reminders re-planned when the offsets change."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from notifications.models import Notification
from recovery.models import AuditEntry, Program, ProgramMonitoringSettings
from recovery.services.enrollment import patient_enroll
from recovery.services.sessions import session_cancel, session_create
from tests.conftest import client_for
from tests.factories import CounselorFactory, ProgramFactory, SupervisorFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/program/settings/"


def _reminders(**filters: Any) -> Any:
    return Notification.objects.filter(kind="session_reminder", **filters)


def _session(enrollment: Any, starts_in: timedelta) -> Any:
    starts = timezone.now() + starts_in
    return session_create(
        program_id=enrollment.program_id,
        kind="group_therapy",
        title="Process group",
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        patients=[enrollment],
    )


def test_staff_read_the_settings_and_only_supervisors_change_them(
    counselor: Any, supervisor: Any, patient_client: Any
) -> None:
    read = client_for(counselor).get(URL)
    assert read.status_code == 200
    assert read.json()["craving_threshold"] == 8
    assert read.json()["reminder_offsets_minutes"] == [1440, 60]
    assert read.json()["missed_dose_days"] == 2
    refused = client_for(counselor).patch(URL, {"craving_threshold": 6}, format="json")
    assert refused.status_code == 403
    assert patient_client.get(URL).status_code == 403
    assert patient_client.patch(URL, {"craving_threshold": 6}, format="json").status_code == 403
    assert Program.objects.get(id=supervisor.program_id).craving_threshold == 8
    assert not AuditEntry.objects.filter(resource="program_settings").exists()


def test_a_supervisor_changes_only_their_own_program(supervisor: Any) -> None:
    other = ProgramFactory()
    changed = client_for(supervisor).patch(URL, {"craving_threshold": 6}, format="json")
    assert changed.status_code == 200
    assert changed.json()["craving_threshold"] == 6
    other.refresh_from_db()
    assert other.craving_threshold == 8
    assert client_for(SupervisorFactory(program=other)).get(URL).json()["craving_threshold"] == 8


def test_a_change_is_audited_with_its_old_and_new_values(supervisor: Any) -> None:
    response = client_for(supervisor).patch(
        URL,
        {
            "craving_threshold": 7,
            "escalation_delay_minutes": 120,
            "checkin_opens_at": "16:30",
            "suggestion_min_checkin_adherence": "0.70",
            "require_staff_2fa": False,  # unchanged: not in the entry
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    entry = AuditEntry.objects.get(resource="program_settings")
    assert entry.actor_id == supervisor.id
    assert entry.action == "update"
    assert entry.program_id == supervisor.program_id
    assert entry.enrollment_id is None
    assert entry.changes == {
        "craving_threshold": {"old": 8, "new": 7},
        "escalation_delay_minutes": {"old": 240, "new": 120},
        "checkin_opens_at": {"old": "17:00", "new": "16:30"},
        "suggestion_min_checkin_adherence": {"old": "0.80", "new": "0.70"},
    }
    monitoring = ProgramMonitoringSettings.objects.get(program_id=supervisor.program_id)
    assert monitoring.updated_by_id == supervisor.id
    assert str(monitoring.suggestion_min_checkin_adherence) == "0.70"


def test_nothing_changed_writes_no_entry(supervisor: Any) -> None:
    client = client_for(supervisor)
    assert client.patch(URL, {"craving_threshold": 8}, format="json").status_code == 200
    assert not AuditEntry.objects.filter(resource="program_settings").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"craving_threshold": 11}, "craving_threshold"),
        ({"craving_threshold": "high"}, "craving_threshold"),
        ({"reminder_offsets_minutes": [0]}, "reminder_offsets_minutes"),
        ({"reminder_offsets_minutes": [60, 60]}, "reminder_offsets_minutes"),
        ({"reminder_offsets_minutes": [1, 2, 3, 4, 5, 6]}, "reminder_offsets_minutes"),
        ({"checkin_opens_at": "20:00", "checkin_due_by": "20:00"}, "checkin_due_by"),
        ({"checkin_grace_minutes": 721}, "checkin_grace_minutes"),
        ({"quiet_start": "22:00"}, "quiet_end"),
        ({"escalation_delay_minutes": 0}, "escalation_delay_minutes"),
        ({"days_per_week": 2}, "days_per_week"),
        ({"suggestion_window_days": 6}, "suggestion_window_days"),
        ({"program_name": "x"}, "program_name"),
    ],
)
def test_bad_settings_are_refused_by_field_and_nothing_is_saved(
    supervisor: Any, body: dict[str, Any], field: str
) -> None:
    response = client_for(supervisor).patch(
        URL, {**body, "nudge_before_due_minutes": 30}, format="json"
    )
    assert response.status_code == 400
    assert any(key.split(".")[0] == field for key in response.json()["error"]["fields"])
    program = Program.objects.get(id=supervisor.program_id)
    assert program.nudge_before_due_minutes == 60
    assert not AuditEntry.objects.filter(resource="program_settings").exists()


def test_new_offsets_re_plan_the_reminders_of_sessions_ahead(
    supervisor: Any, enrollment: Any
) -> None:
    ahead = _session(enrollment, timedelta(days=3))
    soon = _session(enrollment, timedelta(minutes=90))
    cancelled = session_cancel(session=_session(enrollment, timedelta(days=4)), notify=False)
    assert _reminders(state="pending").count() == 3  # ahead 24 h and 1 h, soon 1 h

    response = client_for(supervisor).patch(
        URL, {"reminder_offsets_minutes": [48 * 60, 120, 30]}, format="json"
    )

    assert response.status_code == 200
    pending = _reminders(state="pending")
    planned = sorted((n.topic, n.payload["offset_minutes"]) for n in pending)
    assert planned == sorted(
        [
            (f"session:{ahead.id}", 48 * 60),
            (f"session:{ahead.id}", 120),
            (f"session:{ahead.id}", 30),
            (f"session:{soon.id}", 30),  # 48 h and 2 h before it are past
        ]
    )
    assert all(
        n.due_at == ahead.starts_at - timedelta(minutes=n.payload["offset_minutes"])
        for n in pending
        if n.topic == f"session:{ahead.id}"
    )
    assert not pending.filter(topic=f"session:{cancelled.id}").exists()
    assert _reminders(state="cancelled", topic=f"session:{ahead.id}").count() == 2


def test_new_check_in_and_quiet_defaults_apply_to_the_next_patient_enrolled(
    supervisor: Any, counselor: Any
) -> None:
    client_for(supervisor).patch(
        URL,
        {
            "checkin_opens_at": "08:00",
            "checkin_due_by": "11:00",
            "checkin_grace_minutes": 30,
            "quiet_start": "22:00",
            "quiet_end": "07:00",
        },
        format="json",
    )
    counselor.refresh_from_db()
    enrollment, _, _ = patient_enroll(
        counselor=counselor, first_name="New", last_name="Patient", level_of_care="2.1"
    )
    schedule = enrollment.checkin_schedule
    assert (schedule.opens_at, schedule.due_by, schedule.grace_minutes) == (
        time(8, 0),
        time(11, 0),
        30,
    )
    preference = enrollment.patient.notification_preference
    assert (preference.quiet_start, preference.quiet_end) == (time(22, 0), time(7, 0))


def test_a_counselor_of_another_program_cannot_change_this_one(program: Any) -> None:
    stranger = CounselorFactory(program=ProgramFactory())
    assert (
        client_for(stranger).patch(URL, {"craving_threshold": 3}, format="json").status_code == 403
    )
    program.refresh_from_db()
    assert program.craving_threshold == 8


def test_new_escalation_delays_move_the_open_flags_waiting_to_escalate(
    supervisor: Any, enrollment: Any
) -> None:
    from recovery.models import Flag, FlagKind
    from recovery.services.flags import FlagCandidate, flags_raise

    now = timezone.now()
    flags_raise(
        candidates=[
            FlagCandidate(enrollment, FlagKind.HIGH_CRAVING, "w1"),
            FlagCandidate(enrollment, FlagKind.SELF_HARM, "w1"),
        ],
        now=now,
    )
    craving = Flag.objects.get(kind=FlagKind.HIGH_CRAVING)
    crisis = Flag.objects.get(kind=FlagKind.SELF_HARM)
    assert craving.escalate_at == now + timedelta(minutes=240)

    response = client_for(supervisor).patch(
        URL,
        {"escalation_delay_minutes": 60, "crisis_escalation_delay_minutes": 5},
        format="json",
    )

    assert response.status_code == 200
    craving.refresh_from_db()
    crisis.refresh_from_db()
    assert craving.escalate_at == now + timedelta(minutes=60)
    assert crisis.escalate_at == now + timedelta(minutes=5)


def test_two_factor_is_required_only_by_a_supervisor_who_has_it(supervisor: Any) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = client_for(supervisor)
    refused = client.patch(URL, {"require_staff_2fa": True}, format="json")
    assert refused.status_code == 400
    assert "require_staff_2fa" in refused.json()["error"]["fields"]
    assert not Program.objects.get(id=supervisor.program_id).require_staff_2fa

    TOTPDevice.objects.create(user=supervisor, name="authenticator", confirmed=True)
    assert client.patch(URL, {"require_staff_2fa": True}, format="json").status_code == 200
    assert Program.objects.get(id=supervisor.program_id).require_staff_2fa
