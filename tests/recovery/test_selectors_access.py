"""Who may see or do what (`recovery.selectors.access`), through every client: the API,
the dashboard and the websocket.

The cast: patient A on counselor C's care team; counselor O of the same program, not on
A's team; supervisor S of the program; an individual session of A's, and a group session
with A and B (B on O's team) that O facilitates.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from backend.errors import NotAllowed, ServiceError
from backend.timezones import local_date, local_today
from notifications.tokens import user_for_access_token
from recovery.models import Attendance, Enrollment, Flag, SessionSeries, TreatmentSession, User
from recovery.selectors.access import (
    bookable_enrollments,
    enrollments_visible_to,
    is_program_staff,
    may_read_audit_trail,
    session_roll,
    sessions_writable_by,
)
from recovery.selectors.audit import audit_trail_for_supervisor
from recovery.services.audit import RequestMeta, audit_record
from recovery.services.flags import flag_acknowledge, flag_assign, flag_resolve
from recovery.services.medications import medication_add, medication_update_problems
from recovery.services.monitoring import monitoring_settings_update
from tests.conftest import client_for
from tests.factories import CounselorFactory, EnrollmentFactory, SessionFactory, SupervisorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(program: Any, counselor: User, supervisor: User) -> dict[str, Any]:
    other = CounselorFactory(program=program)
    a = EnrollmentFactory(program=program, primary_counselor=counselor)
    b = EnrollmentFactory(program=program, primary_counselor=other)
    individual = SessionFactory(program=program, kind="individual_therapy", facilitator=counselor)
    individual.patients.set([a])
    group = SessionFactory(program=program, facilitator=other)
    group.patients.set([a, b])
    return {
        "C": counselor,
        "O": other,
        "S": supervisor,
        "a": a,
        "b": b,
        "individual": individual,
        "group": group,
    }


def _booking(patients: list[int]) -> dict[str, Any]:
    start = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    return {
        "kind": "individual_therapy",
        "title": "One to one",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "patients": patients,
    }


def test_a_counselor_off_the_care_team_cannot_reach_that_patient_through_sessions(
    cast: dict[str, Any],
) -> None:
    """The issue's counselor: lists the schedule, but reads, marks, cancels and books
    nothing of A's, exactly as attendance/summary/?patient= already answered 404."""
    o, a, individual = client_for(cast["O"]), cast["a"], cast["individual"]
    assert o.get(f"/api/v1/attendance/summary/?patient={a.id}").status_code == 404

    listed = {s["id"]: s for s in o.get("/api/v1/sessions/").json()["results"]}
    assert listed[individual.id]["patients"] == []  # the schedule, not who is on it
    detail = o.get(f"/api/v1/sessions/{individual.id}/").json()
    assert detail["patients"] == []

    marked = o.post(
        f"/api/v1/sessions/{individual.id}/attendance/",
        {"patient": a.id, "status": "absent"},
        format="json",
    )
    assert marked.status_code == 404
    assert not Attendance.objects.exists()

    assert o.post(f"/api/v1/sessions/{individual.id}/cancel/").status_code == 404
    assert (
        o.patch(f"/api/v1/sessions/{individual.id}/", {"title": "x"}, format="json").status_code
        == 404
    )
    individual.refresh_from_db()
    assert individual.status == "scheduled"

    booked = o.post("/api/v1/sessions/", _booking([a.id]), format="json")
    assert booked.status_code == 400
    assert "patients" in booked.json()["error"]["fields"]
    series = o.post(
        "/api/v1/series/",
        {
            "kind": "individual_therapy",
            "title": "Weekly one to one",
            "rrule": "FREQ=WEEKLY;COUNT=2",
            "start_date": local_today("America/New_York").isoformat(),
            "start_time": "09:00",
            "duration_minutes": 60,
            "timezone": "America/New_York",
            "patients": [a.id],
        },
        format="json",
    )
    assert series.status_code == 400
    assert not SessionSeries.objects.exists()
    assert TreatmentSession.objects.filter(patients=a).count() == 2


def test_the_facilitator_takes_the_whole_roll_of_their_session(cast: dict[str, Any]) -> None:
    o, a, b, group = client_for(cast["O"]), cast["a"], cast["b"], cast["group"]
    listed = {s["id"]: s for s in o.get("/api/v1/sessions/").json()["results"]}
    assert listed[group.id]["patients"] == sorted([a.id, b.id])
    marked = o.post(
        f"/api/v1/sessions/{group.id}/attendance/",
        {"patient": a.id, "status": "present"},
        format="json",
    )
    assert marked.status_code == 201, marked.content
    roll = o.get(f"/api/v1/sessions/{group.id}/attendance/").json()
    assert [row["patient"] for row in roll] == [a.id]
    _nobody_came(o, group, [a])
    assert o.post(f"/api/v1/sessions/{group.id}/cancel/").status_code == 200


def _nobody_came(client: Any, group: Any, patients: list[Any]) -> None:
    """A session someone attended is not cancelled: the roll is corrected first."""
    for patient in patients:
        corrected = client.post(
            f"/api/v1/sessions/{group.id}/attendance/",
            {"patient": patient.id, "status": "absent"},
            format="json",
        )
        assert corrected.status_code in (200, 201), corrected.content


def test_a_counselor_sees_and_marks_only_their_patients_on_someone_elses_group(
    cast: dict[str, Any],
) -> None:
    c, a, b, group = client_for(cast["C"]), cast["a"], cast["b"], cast["group"]
    assert c.get(f"/api/v1/sessions/{group.id}/").json()["patients"] == [a.id]
    for patient, code in ((a, 201), (b, 404)):
        response = c.post(
            f"/api/v1/sessions/{group.id}/attendance/",
            {"patient": patient.id, "status": "present"},
            format="json",
        )
        assert response.status_code == code
    client_for(cast["O"]).post(
        f"/api/v1/sessions/{group.id}/attendance/",
        {"patient": b.id, "status": "late"},
        format="json",
    )
    roll = c.get(f"/api/v1/sessions/{group.id}/attendance/").json()
    assert [row["patient"] for row in roll] == [a.id]
    # B's patients ride on the group: only the facilitator or a supervisor cancels it.
    assert c.post(f"/api/v1/sessions/{group.id}/cancel/").status_code == 404
    supervisor = client_for(cast["S"])
    assert supervisor.get(f"/api/v1/sessions/{group.id}/").json()["patients"] == sorted(
        [a.id, b.id]
    )
    _nobody_came(supervisor, group, [a, b])
    assert supervisor.post(f"/api/v1/sessions/{group.id}/cancel/").status_code == 200


def test_the_dashboard_keeps_the_same_roll(cast: dict[str, Any]) -> None:
    """Dashboard attendance follows the API's rule: the facilitator marks anyone on the
    group; a counselor off the care team marks nobody on A's individual session."""
    group, individual, a, b = cast["group"], cast["individual"], cast["a"], cast["b"]
    facilitator = Client()
    facilitator.force_login(cast["O"])
    response = facilitator.post(
        f"/dashboard/sessions/{group.id}/attendance/",
        {"patient": a.id, "status": "present"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    assert Attendance.objects.filter(session=group, enrollment=a).exists()
    refused = facilitator.post(
        f"/dashboard/sessions/{individual.id}/attendance/",
        {"patient": a.id, "status": "absent"},
        HTTP_ACCEPT="application/json",
    )
    assert refused.status_code == 404
    assert not Attendance.objects.filter(session=individual).exists()
    calendar = facilitator.get(
        "/dashboard/calendar/",
        {"week": local_date(group.starts_at, "America/New_York").isoformat()},
    ).content.decode()
    name_of_b = b.patient.last_name
    assert name_of_b in calendar


def test_program_staff_is_one_rule(program: Any, counselor: User, supervisor: User) -> None:
    patient = EnrollmentFactory(program=program, primary_counselor=counselor).patient
    adrift = CounselorFactory(program=None)
    gone = SupervisorFactory(program=program, is_active=False)
    assert is_program_staff(counselor)
    assert is_program_staff(supervisor, program.id)
    assert not is_program_staff(counselor, program.id + 1)
    for user in (patient, adrift, gone):
        assert not is_program_staff(user)


def test_a_deactivated_staff_member_reaches_nothing(cast: dict[str, Any], program: Any) -> None:
    """C is still on A's care team and still facilitates A's individual session when the
    account is deactivated: the rows stay, the reach goes. The API and the dashboard
    refuse the account itself (a token issued before, a signed-in browser); what this
    project decides on top is checked too: care teams, flags, facilitating, the websocket."""
    c: User = cast["C"]
    a: Enrollment = cast["a"]
    individual: TreatmentSession = cast["individual"]
    api = client_for(c)
    token = str(RefreshToken.for_user(c).access_token)
    browser = Client()
    browser.force_login(c)
    flag = Flag.objects.create(
        enrollment=a, kind="high_craving", severity=2, window_key="k", created_at=timezone.now()
    )
    assert user_for_access_token(token) is not None
    c.is_active = False
    c.save(update_fields=["is_active"])

    for url in (
        "/api/v1/patients/",
        f"/api/v1/patients/{a.id}/",
        "/api/v1/sessions/",
        "/api/v1/flags/",
        "/api/v1/dashboard/caseload/",
    ):
        response = api.get(url)
        assert response.status_code in (401, 403), url
    assert browser.get(f"/dashboard/patients/{a.id}/").status_code in (302, 404)
    assert user_for_access_token(token) is None  # no websocket, so no events group

    # Care teams: on A's team still, but nobody is in reach.
    assert a.members.filter(counselor=c).exists()
    assert not enrollments_visible_to(c).exists()
    assert not bookable_enrollments(c).exists()
    # Facilitating: C's own session is no longer C's to change or to take the roll of.
    assert individual.facilitator_id == c.id
    assert not sessions_writable_by(c).exists()
    assert not session_roll(c, individual).exists()
    # Flags: C acts on none, and none goes to C.
    with pytest.raises(NotAllowed):
        flag_acknowledge(flag=flag, actor=c)
    with pytest.raises(ServiceError):
        flag_assign(flag=flag, actor=cast["S"], assignee_id=c.id)
    # Nobody hands C a session or a patient.
    supervisor = client_for(cast["S"])
    handed = supervisor.patch(
        f"/api/v1/sessions/{cast['group'].id}/", {"facilitator": c.id}, format="json"
    )
    assert handed.status_code == 400
    assert "facilitator" in handed.json()["error"]["fields"]
    before = Enrollment.objects.count()
    enrolled = supervisor.post(
        "/api/v1/patients/", {"first_name": "Robin", "care_team": [c.id]}, format="json"
    )
    assert enrolled.status_code == 400
    assert "care_team" in enrolled.json()["error"]["fields"]
    # Counted, not looked up by first name: the factories' random names include "Robin".
    assert Enrollment.objects.count() == before


def test_a_deactivated_supervisor_reaches_nothing(
    cast: dict[str, Any], program: Any, supervisor: User
) -> None:
    """Every "who may" rule goes through `is_program_staff`: a deactivated supervisor
    reads no audit trail, changes no program setting or medication and acts on no flag,
    whoever calls the rule."""
    a: Enrollment = cast["a"]
    medication = medication_add(
        enrollment=a, actor=supervisor, name="Naltrexone", start_date=local_today(program.timezone)
    )
    flag = Flag.objects.create(
        enrollment=a, kind="high_craving", severity=2, window_key="k", created_at=timezone.now()
    )
    audit_record(
        actor=cast["C"], action="read", resource="x", enrollment_ids=[a.id], meta=RequestMeta()
    )
    assert audit_trail_for_supervisor(user=supervisor).exists()
    supervisor.is_active = False
    supervisor.save(update_fields=["is_active"])

    assert not audit_trail_for_supervisor(user=supervisor).exists()
    assert not may_read_audit_trail(supervisor)
    with pytest.raises(NotAllowed):
        monitoring_settings_update(program=program, actor=supervisor, data={"missed_dose_days": 5})
    problems = medication_update_problems(
        medication=medication, actor=supervisor, data={"dose": "100 mg"}
    )
    assert "dose" in problems
    with pytest.raises(NotAllowed):
        flag_resolve(flag=flag, actor=supervisor, outcome_note="Called.")
    assert not enrollments_visible_to(supervisor).exists()
    assert not sessions_writable_by(supervisor).exists()
