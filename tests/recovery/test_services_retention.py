"""Retention: a discharged patient's check-ins and notifications go after the program's
period (at least six years), audited; the audit trail stays; a dry run changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from unittest import mock

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError
from django.utils import timezone

from backend.schedule import periodic_jobs, run_job
from notifications.models import Notification
from recovery.models import (
    AuditEntry,
    CheckIn,
    EnrollmentStatus,
    ProgramRetentionPolicy,
    UrgeEvent,
)
from recovery.services import retention
from recovery.services.retention import retention_apply, retention_policy_for
from tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db


def _patient(program, counselor, *, discharged_years_ago: float | None):
    enrollment = EnrollmentFactory(program=program, primary_counselor=counselor)
    now = timezone.now()
    if discharged_years_ago is not None:
        enrollment.status = EnrollmentStatus.DISCHARGED
        enrollment.discharged_at = now - timedelta(days=365.25 * discharged_years_ago)
        enrollment.save()
    for day in range(3):
        CheckIn.objects.create(
            enrollment=enrollment,
            client_id=uuid.uuid4(),
            mood=3,
            craving=2,
            used_substance=False,
            note="private words",
            device_time=now - timedelta(days=day),
            device_timezone="UTC",
            received_at=now,
            payload_hash="x",
        )
    UrgeEvent.objects.create(enrollment=enrollment, intensity=5, occurred_at=now)
    for key, recipient, payload in (
        ("to-patient", enrollment.patient, {}),
        ("about-patient", counselor, {"enrollment_id": enrollment.id}),
    ):
        Notification.objects.create(
            recipient=recipient,
            kind="session_reminder",
            title="t",
            body="b",
            dedupe_key=f"{key}-{enrollment.id}",
            payload=payload,
            due_at=now,
            created_at=now,
        )
    AuditEntry.objects.create(
        actor=counselor,
        actor_role="counselor",
        program_id=program.id,
        enrollment_id=enrollment.id,
        action="read",
        resource="patient",
        at=now - relativedelta(years=8),
    )
    return enrollment


def _left(enrollment) -> tuple[int, int, int]:
    return (
        CheckIn.objects.filter(enrollment=enrollment).count(),
        UrgeEvent.objects.filter(enrollment=enrollment).count(),
        Notification.objects.filter(
            dedupe_key__in=[f"to-patient-{enrollment.id}", f"about-patient-{enrollment.id}"]
        ).count(),
    )


def test_records_past_six_years_after_discharge_are_deleted_and_audited(program, counselor):
    old = _patient(program, counselor, discharged_years_ago=6.2)
    recent = _patient(program, counselor, discharged_years_ago=5.5)
    active = _patient(program, counselor, discharged_years_ago=None)
    audit_before = AuditEntry.objects.count()

    report = retention_apply()

    assert _left(old) == (0, 0, 0)
    assert _left(recent) == (3, 1, 2)
    assert _left(active) == (3, 1, 2)
    assert (report.patients, report.checkins, report.urges, report.notifications) == (1, 3, 1, 2)
    entry = AuditEntry.objects.get(action="delete", enrollment_id=old.id)
    assert entry.actor is None
    assert entry.actor_role == "system"
    assert entry.resource == "retention:checkins=3,urges=1,notifications=2"
    # The audit trail is never deleted, even past its own period.
    assert AuditEntry.objects.count() == audit_before + 1
    assert report.audit_entries_past_period == 3


def test_a_longer_program_period_keeps_check_ins_longer(program, counselor):
    policy = retention_policy_for(program)
    policy.checkins_years = 10
    policy.save()
    old = _patient(program, counselor, discharged_years_ago=7)
    retention_apply()
    assert _left(old) == (3, 1, 0)


def test_a_dry_run_reports_and_changes_nothing(program, counselor):
    old = _patient(program, counselor, discharged_years_ago=7)
    audit_before = AuditEntry.objects.count()
    report = retention_apply(dry_run=True)
    assert report.checkins == 3
    assert report.notifications == 2
    assert _left(old) == (3, 1, 2)
    assert AuditEntry.objects.count() == audit_before


def test_the_command_dry_run_says_what_it_would_remove(program, counselor, capsys):
    old = _patient(program, counselor, discharged_years_ago=7)
    call_command("apply_retention", "--dry-run")
    out = capsys.readouterr().out
    assert f"enrollment {old.id} (program {program.id}): would delete 3 check-ins" in out
    assert "would delete for 1 discharged patients" in out
    assert _left(old) == (3, 1, 2)
    call_command("apply_retention")
    assert "deleted for 1 discharged patients" in capsys.readouterr().out
    assert _left(old) == (0, 0, 0)


def test_an_interrupted_run_is_finished_by_the_next(program, counselor):
    first = _patient(program, counselor, discharged_years_ago=9)
    second = _patient(program, counselor, discharged_years_ago=8)
    real_audit = retention.audit_record
    calls = 0

    def audit_then_crash(**kwargs):
        # Killed half-way through the second patient: rows already deleted, not committed.
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        return real_audit(**kwargs)

    with (
        mock.patch.object(retention, "audit_record", audit_then_crash),
        pytest.raises(KeyboardInterrupt),
    ):
        retention_apply()
    assert _left(first) == (0, 0, 0)
    assert _left(second) == (3, 1, 2)  # its transaction never committed: nothing half-gone

    report = retention_apply()
    assert report.patients == 1
    assert _left(second) == (0, 0, 0)
    assert retention_apply().patients == 0


def test_no_period_may_be_shorter_than_six_years(program):
    policy = ProgramRetentionPolicy(program=program, checkins_years=5)
    with pytest.raises(ValidationError):
        policy.full_clean()
    with pytest.raises(IntegrityError):
        policy.save()


def test_retention_is_a_daily_job_of_the_one_schedule(program, counselor):
    job = next(job for job in periodic_jobs() if job.name == "apply_retention")
    assert job.every_seconds == 86400.0
    old = _patient(program, counselor, discharged_years_ago=7)
    assert run_job("apply_retention").patients == 1
    assert _left(old) == (0, 0, 0)
