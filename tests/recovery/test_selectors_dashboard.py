"""The caseload costs a fixed number of queries, whatever the size of the caseload."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.timezones import local_today
from recovery.models import (
    Attendance,
    AttendanceStatus,
    CareTeamMember,
    CheckIn,
    CheckInSchedule,
    Enrollment,
    Flag,
    FlagKind,
    FlagStatus,
    Program,
    Role,
    Severity,
    TreatmentSession,
    User,
)
from recovery.selectors.dashboard import caseload
from tests.conftest import client_for
from tests.factories import CounselorFactory, ProgramFactory

pytestmark = pytest.mark.django_db


def build_caseload(program: Program, counselor: User, n: int) -> list[Enrollment]:
    """n patients, each with a schedule, a week of check-ins, attendance and open flags."""
    now = timezone.now()
    start = local_today("America/Chicago") - timedelta(days=30)  # the westmost zone here
    patients = User.objects.bulk_create(
        [
            User(username=f"p-{uuid.uuid4().hex[:12]}", role=Role.PATIENT, program=program)
            for _ in range(n)
        ]
    )
    enrollments = Enrollment.objects.bulk_create(
        [
            Enrollment(
                patient=p,
                program=program,
                primary_counselor=counselor,
                timezone="America/Chicago" if i % 2 else "America/New_York",
                start_date=start,
            )
            for i, p in enumerate(patients)
        ]
    )
    CareTeamMember.objects.bulk_create(
        [CareTeamMember(enrollment=e, counselor=counselor, is_primary=True) for e in enrollments]
    )
    CheckInSchedule.objects.bulk_create(
        [
            CheckInSchedule(
                enrollment=e,
                opens_at="17:00",
                due_by="21:00",
                days_of_week=[1, 2, 3, 4, 5],
                grace_minutes=60,
            )
            for e in enrollments
        ]
    )
    CheckIn.objects.bulk_create(
        [
            CheckIn(
                enrollment=e,
                client_id=uuid.uuid4(),
                mood=3,
                craving=(day + i) % 11,
                used_substance=False,
                device_time=now - timedelta(days=day, hours=1),
                device_timezone=e.timezone,
                received_at=now,
                payload_hash="x",
            )
            for i, e in enumerate(enrollments)
            for day in range(0, 20, 2)
        ]
    )
    sessions = [
        TreatmentSession.objects.create(
            program=program,
            kind="group_therapy",
            title="Group",
            starts_at=now - timedelta(days=days, hours=3),
            ends_at=now - timedelta(days=days),
        )
        for days in (0, 2, 9)
    ]
    Attendance.objects.bulk_create(
        [
            Attendance(
                session=s,
                enrollment=e,
                status=AttendanceStatus.PRESENT if i % 3 else AttendanceStatus.LATE,
                minutes_attended=180 if i % 3 else 120,
                recorded_by=counselor,
                recorded_at=now,
            )
            for i, e in enumerate(enrollments)
            for s in sessions
        ]
    )
    Flag.objects.bulk_create(
        [
            Flag(
                enrollment=e,
                kind=kind,
                severity=severity,
                window_key="2026-03-01",
                status=status,
                created_at=now,
            )
            for e in enrollments
            for kind, severity, status in (
                (FlagKind.HIGH_CRAVING, Severity.WARNING, FlagStatus.OPEN),
                (FlagKind.SELF_HARM, Severity.CRISIS, FlagStatus.ACKNOWLEDGED),
                (FlagKind.URGE, Severity.WARNING, FlagStatus.RESOLVED),
            )
        ]
    )
    return enrollments


AUDIT_INSERT = 'INSERT INTO "recovery_auditentry"'


def queries_for_caseload(n: int) -> tuple[list[str], list[str]]:
    """The endpoint's queries for a caseload of n: (reads and other work, audit inserts)."""
    program = ProgramFactory()
    counselor = CounselorFactory(program=program)
    build_caseload(program, counselor, n)
    client = client_for(counselor)
    client.get("/api/v1/dashboard/caseload/")  # warm caches (content types, etc.)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/v1/dashboard/caseload/")
    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == n
    assert all(r["open_flags"] == {"warning": 1, "crisis": 1} for r in rows)
    assert all(r["last_session_attended_at"] is not None for r in rows)
    assert all(len(r["craving_daily_30d"]) == 30 for r in rows)
    sql = [q["sql"] for q in captured.captured_queries]
    return [q for q in sql if not q.startswith(AUDIT_INSERT)], [
        q for q in sql if q.startswith(AUDIT_INSERT)
    ]


def test_the_caseload_endpoint_costs_the_same_queries_for_5_and_200_patients() -> None:
    small, small_audit = queries_for_caseload(5)
    large, large_audit = queries_for_caseload(200)
    assert len(small) == len(large), "\n".join(large)
    # The access audit appends one row per patient shown. SQLite caps the parameters of a
    # statement, so Django splits that bulk insert into batches of about 80 rows: the
    # only part that grows, and it is the audit trail's, not the caseload's.
    assert len(small_audit) == 1
    assert 1 <= len(large_audit) <= 3


def test_the_caseload_selector_costs_the_same_queries_for_5_and_200_patients() -> None:
    counts = []
    for n in (5, 200):
        program = ProgramFactory()
        counselor = CounselorFactory(program=program)
        build_caseload(program, counselor, n)
        counselor = User.objects.get(id=counselor.id)
        with CaptureQueriesContext(connection) as captured:
            rows = caseload(user=counselor)
        assert len(rows) == n
        counts.append(len(captured))
    assert counts[0] == counts[1]
    # One per source: patients, check-in totals, check-ins per local day, schedules, last attended,
    # open flags, unread messages, this week's attendance, questionnaire scores, missed
    # questionnaires.
    assert counts[0] == 10


def test_an_empty_caseload_costs_one_query() -> None:
    counselor = CounselorFactory()
    with CaptureQueriesContext(connection) as captured:
        assert caseload(user=counselor) == []
    assert len(captured) == 1


def test_the_figures_hold_at_scale() -> None:
    program = ProgramFactory()
    counselor = CounselorFactory(program=program)
    enrollments = build_caseload(program, counselor, 50)
    rows = {r.enrollment.id: r for r in caseload(user=counselor)}
    assert set(rows) == {e.id for e in enrollments}
    for row in rows.values():
        assert row.open_flags == {"warning": 1, "crisis": 1}
        assert row.required_hours_per_week == 9.0
        assert len(row.craving_daily_30d) == 30
        assert row.adherence_30d is not None
        assert 0 <= row.adherence_30d <= 1


def test_the_caseload_rows_are_written_as_the_generic_serializer_writes_them() -> None:
    import json

    from rest_framework import serializers

    from notifications.presence import heard_from
    from recovery.api.flags import CaseloadRowSerializer
    from tests.factories import EnrollmentFactory

    program = ProgramFactory()
    counselor = CounselorFactory(program=program)
    enrollments = build_caseload(program, counselor, 4)
    heard_from(user_id=enrollments[0].patient_id)
    EnrollmentFactory(program=program, primary_counselor=counselor)  # nothing yet: nulls
    rows = caseload(user=User.objects.get(id=counselor.id))

    written = CaseloadRowSerializer(rows, many=True).data
    generic = [
        serializers.Serializer.to_representation(CaseloadRowSerializer(), row) for row in rows
    ]

    assert json.dumps(written) == json.dumps(generic)
    assert any(r["last_checkin_at"] is None for r in written)
    assert any(r["last_heard_at"] is not None for r in written)
    assert any(r["craving_trend"] is not None for r in written)
