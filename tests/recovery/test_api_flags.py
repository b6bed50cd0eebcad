"""The flag queue and the caseload: what a counselor works through each day."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from backend.timezones import local_date
from recovery.models import (
    Attendance,
    CheckIn,
    Enrollment,
    Flag,
    FlagEvent,
    FlagKind,
    FlagStatus,
    Severity,
    User,
)
from tests.conftest import client_for
from tests.factories import (
    CounselorFactory,
    EnrollmentFactory,
    ScheduleFactory,
    SessionFactory,
    SupervisorFactory,
)

pytestmark = pytest.mark.django_db
NY = zoneinfo.ZoneInfo("America/New_York")


def make_flag(enrollment: Enrollment, kind: str, severity: int, **fields: Any) -> Flag:
    flag = Flag.objects.create(
        enrollment=enrollment,
        kind=kind,
        severity=severity,
        window_key=fields.pop("window_key", "2026-03-01"),
        created_at=fields.pop("created_at", timezone.now()),
        assigned_to=enrollment.primary_counselor,
        **fields,
    )
    FlagEvent.objects.create(flag=flag, action="raised", at=flag.created_at)
    return flag


def actions(client: APIClient, flag: Flag) -> list[str]:
    return [e["action"] for e in client.get(f"/api/v1/flags/{flag.id}/").json()["events"]]


# --- the queue ------------------------------------------------------------------------


def test_the_queue_is_most_severe_first_then_oldest(
    counselor_client: APIClient, enrollment: Enrollment
) -> None:
    now = timezone.now()
    old_warning = make_flag(
        enrollment, FlagKind.HIGH_CRAVING, Severity.WARNING, created_at=now - timedelta(hours=5)
    )
    new_warning = make_flag(enrollment, FlagKind.URGE, Severity.WARNING, created_at=now)
    crisis = make_flag(
        enrollment, FlagKind.SELF_HARM, Severity.CRISIS, created_at=now - timedelta(hours=1)
    )
    urgent = make_flag(enrollment, FlagKind.SUBSTANCE_USE, Severity.URGENT)
    queue = counselor_client.get("/api/v1/flags/").json()["results"]
    assert [f["id"] for f in queue] == [crisis.id, urgent.id, old_warning.id, new_warning.id]
    assert queue[0]["severity_label"] == "Crisis"


def test_the_queue_filters(
    counselor_client: APIClient, enrollment: Enrollment, counselor: User
) -> None:
    other = EnrollmentFactory(program=enrollment.program, primary_counselor=counselor)
    craving = make_flag(enrollment, FlagKind.HIGH_CRAVING, Severity.WARNING)
    crisis = make_flag(other, FlagKind.SELF_HARM, Severity.CRISIS)
    done = make_flag(
        enrollment, FlagKind.URGE, Severity.WARNING, status=FlagStatus.RESOLVED, outcome_note="ok"
    )

    def ids(**params: Any) -> set[int]:
        return {f["id"] for f in counselor_client.get("/api/v1/flags/", params).json()["results"]}

    assert ids() == {craving.id, crisis.id, done.id}
    assert ids(status=["open", "acknowledged"]) == {craving.id, crisis.id}
    assert ids(status="resolved") == {done.id}
    assert ids(severity=Severity.CRISIS) == {crisis.id}
    assert ids(kind="high_craving") == {craving.id}
    assert ids(patient=other.id) == {crisis.id}
    assert ids(assigned_to=counselor.id) == {craving.id, crisis.id, done.id}


# --- the life of a flag ---------------------------------------------------------------


def test_acknowledge_assign_resolve_reopen_records_every_step(
    counselor_client: APIClient, enrollment: Enrollment, counselor: User
) -> None:
    flag = make_flag(
        enrollment, FlagKind.HIGH_CRAVING, Severity.WARNING, escalate_at=timezone.now()
    )
    base = f"/api/v1/flags/{flag.id}"
    colleague = CounselorFactory(program=enrollment.program)

    acked = counselor_client.post(f"{base}/acknowledge/")
    assert acked.status_code == 200, acked.content
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == counselor.id
    flag.refresh_from_db()
    assert flag.escalate_at is None  # acknowledged flags do not escalate

    assigned = counselor_client.post(f"{base}/assign/", {"assignee": colleague.id}, format="json")
    assert assigned.status_code == 200
    assert assigned.json()["assigned_to"] == colleague.id

    resolved = counselor_client.post(
        f"{base}/resolve/", {"outcome_note": "Called; craving passed."}, format="json"
    )
    assert resolved.status_code == 200
    body = resolved.json()
    assert body["status"] == "resolved"
    assert body["resolved_by"] == counselor.id
    assert body["outcome_note"] == "Called; craving passed."

    reopened = counselor_client.post(f"{base}/reopen/", {"note": "Craving back."}, format="json")
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "open"
    assert reopened.json()["resolved_at"] is None

    events = counselor_client.get(f"{base}/").json()["events"]
    assert [(e["action"], e["actor"]) for e in events] == [
        ("raised", None),
        ("acknowledged", counselor.id),
        ("assigned", counselor.id),
        ("resolved", counselor.id),
        ("reopened", counselor.id),
    ]
    assert events[3]["note"] == "Called; craving passed."
    assert events[4]["note"] == "Craving back."


def test_resolving_an_open_flag_acknowledges_it_too(
    counselor_client: APIClient, enrollment: Enrollment, counselor: User
) -> None:
    flag = make_flag(enrollment, FlagKind.URGE, Severity.WARNING)
    body = counselor_client.post(
        f"/api/v1/flags/{flag.id}/resolve/", {"outcome_note": "Texted back."}, format="json"
    ).json()
    assert body["acknowledged_by"] == counselor.id
    assert body["acknowledged_at"] is not None


@pytest.mark.parametrize(
    ("status", "action", "body"),
    [
        (FlagStatus.ACKNOWLEDGED, "acknowledge", {}),
        (FlagStatus.RESOLVED, "acknowledge", {}),
        (FlagStatus.RESOLVED, "resolve", {"outcome_note": "again"}),
        (FlagStatus.OPEN, "reopen", {}),
        (FlagStatus.ACKNOWLEDGED, "reopen", {}),
    ],
)
def test_impossible_transitions_are_refused_and_record_nothing(
    counselor_client: APIClient, enrollment: Enrollment, status: str, action: str, body: Any
) -> None:
    flag = make_flag(enrollment, FlagKind.URGE, Severity.WARNING, status=status)
    response = counselor_client.post(f"/api/v1/flags/{flag.id}/{action}/", body, format="json")
    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]
    assert actions(counselor_client, flag) == ["raised"]
    flag.refresh_from_db()
    assert flag.status == status


def test_assigning_to_staff_of_another_program_or_a_patient_is_refused(
    counselor_client: APIClient, enrollment: Enrollment
) -> None:
    flag = make_flag(enrollment, FlagKind.URGE, Severity.WARNING)
    for assignee in (CounselorFactory(), enrollment.patient):
        response = counselor_client.post(
            f"/api/v1/flags/{flag.id}/assign/", {"assignee": assignee.id}, format="json"
        )
        assert response.status_code == 400
        assert "assignee" in response.json()["error"]["fields"]
    assert actions(counselor_client, flag) == ["raised"]


def test_flag_actions_with_several_problems_name_them_all_in_one_answer(
    counselor_client: APIClient, enrollment: Enrollment
) -> None:
    resolved = make_flag(enrollment, FlagKind.URGE, Severity.WARNING, status=FlagStatus.RESOLVED)
    base = f"/api/v1/flags/{resolved.id}"
    resolve = counselor_client.post(f"{base}/resolve/", {"outcome_note": ""}, format="json")
    assert resolve.status_code == 400
    assert set(resolve.json()["error"]["fields"]) == {"status", "outcome_note"}
    reopen_open = make_flag(enrollment, FlagKind.URGE, Severity.WARNING, window_key="2026-03-02")
    reopen = counselor_client.post(
        f"/api/v1/flags/{reopen_open.id}/reopen/", {"note": "x" * 5000}, format="json"
    )
    assert reopen.status_code == 400
    assert set(reopen.json()["error"]["fields"]) == {"status", "note"}
    assign = counselor_client.post(
        f"{base}/assign/", {"assignee": CounselorFactory().id, "why": "busy"}, format="json"
    )
    assert assign.status_code == 400
    assert set(assign.json()["error"]["fields"]) == {"assignee", "why"}
    assert actions(counselor_client, resolved) == ["raised"]


def test_a_supervisor_works_the_programs_queue(enrollment: Enrollment) -> None:
    supervisor = SupervisorFactory(program=enrollment.program)
    flag = make_flag(enrollment, FlagKind.SELF_HARM, Severity.CRISIS)
    client = client_for(supervisor)
    assert [f["id"] for f in client.get("/api/v1/flags/").json()["results"]] == [flag.id]
    answer = client.post(
        f"/api/v1/flags/{flag.id}/assign/", {"assignee": supervisor.id}, format="json"
    )
    assert answer.status_code == 200
    assert answer.json()["assigned_to"] == supervisor.id


# --- the caseload ---------------------------------------------------------------------


def checkin(enrollment: Enrollment, at: Any, craving: int) -> None:
    CheckIn.objects.create(
        enrollment=enrollment,
        client_id=uuid.uuid4(),
        mood=3,
        craving=craving,
        used_substance=False,
        device_time=at,
        device_timezone=enrollment.timezone,
        received_at=at,
        payload_hash="x",
    )


def test_the_caseload_row_has_the_figures_a_counselor_scans(
    enrollment: Enrollment, counselor: User, time_machine: Any
) -> None:
    time_machine.move_to(datetime(2026, 6, 10, 12, 0, tzinfo=NY), tick=False)  # a Wednesday
    now = timezone.now()
    enrollment.start_date = local_date(now, NY) - timedelta(days=40)
    enrollment.save()
    ScheduleFactory(enrollment=enrollment)  # every day
    # Three days in a row up to today at craving 6; ten days ago at craving 2.
    for days, craving in ((0, 6), (1, 6), (2, 6), (10, 2)):
        checkin(enrollment, now - timedelta(days=days, minutes=1), craving)
    session = SessionFactory(
        program=enrollment.program,
        starts_at=now - timedelta(hours=3),
        ends_at=now - timedelta(minutes=30),
    )
    session.patients.set([enrollment])
    Attendance.objects.create(
        session=session,
        enrollment=enrollment,
        status="present",
        minutes_attended=150,
        recorded_by=counselor,
        recorded_at=now,
    )
    make_flag(enrollment, FlagKind.HIGH_CRAVING, Severity.WARNING)
    make_flag(enrollment, FlagKind.SELF_HARM, Severity.CRISIS)
    make_flag(enrollment, FlagKind.URGE, Severity.WARNING, status=FlagStatus.RESOLVED)

    client = client_for(counselor)  # a token issued at the frozen time
    rows = client.get("/api/v1/dashboard/caseload/").json()
    assert len(rows) == 1
    row = rows[0]
    assert row["patient"] == enrollment.id
    assert row["first_name"] == enrollment.patient.first_name
    assert row["stage"] == "engagement"
    assert row["level_of_care"] == "2.1"
    assert row["streak_days"] == 3
    assert row["adherence_7d"] == round(3 / 7, 3)
    assert row["adherence_30d"] == round(4 / 30, 3)
    assert row["craving_avg_7d"] == 6.0
    assert row["craving_trend"] == 4.0  # 6 this week against 2 the week before
    assert len(row["craving_daily_30d"]) == 30
    assert row["craving_daily_30d"][-1] == 6.0
    assert row["craving_daily_30d"].count(None) == 26
    assert row["last_checkin_at"] is not None
    assert row["last_session_attended_at"] is not None
    assert row["required_hours_per_week"] == 9.0
    assert row["open_flags"] == {"warning": 1, "crisis": 1}
    assert row["hours_this_week"] == 2.5


def test_a_new_patient_has_an_empty_row(
    counselor_client: APIClient, enrollment: Enrollment
) -> None:
    row = counselor_client.get("/api/v1/dashboard/caseload/").json()[0]
    assert row["last_checkin_at"] is None
    assert row["streak_days"] == 0
    assert row["adherence_7d"] == 0.0
    assert row["craving_avg_7d"] is None
    assert row["craving_trend"] is None
    assert row["craving_daily_30d"] == [None] * 30
    assert row["open_flags"] == {}
    assert row["hours_this_week"] == 0.0


def test_the_caseload_is_the_care_teams(counselor: User, enrollment: Enrollment) -> None:
    colleague = CounselorFactory(program=counselor.program)
    theirs = EnrollmentFactory(program=counselor.program, primary_counselor=colleague)
    mine = [r["patient"] for r in client_for(counselor).get("/api/v1/dashboard/caseload/").json()]
    assert mine == [enrollment.id]
    supervisor = client_for(SupervisorFactory(program=counselor.program))
    everyone = {r["patient"] for r in supervisor.get("/api/v1/dashboard/caseload/").json()}
    assert everyone == {enrollment.id, theirs.id}
