"""The audit trail: staff reads and writes are recorded; nobody can rewrite them."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from recovery.models import AuditEntry
from tests.conftest import client_for
from tests.factories import CounselorFactory, EnrollmentFactory, SupervisorFactory

pytestmark = pytest.mark.django_db


def test_a_counselor_opening_a_patient_is_recorded_with_role_and_origin(counselor, enrollment):
    response = client_for(counselor).get(
        f"/api/v1/patients/{enrollment.id}/",
        HTTP_USER_AGENT="dashboard-test",
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 200
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.actor_role, entry.enrollment_id) == (
        counselor,
        "counselor",
        enrollment.id,
    )
    assert (entry.action, entry.resource, entry.ip_address) == (
        "read",
        "patient-detail",
        "10.1.2.3",
    )
    assert entry.user_agent == "dashboard-test"


def test_list_reads_record_every_patient_shown(counselor, program):
    patients = [EnrollmentFactory(program=program, primary_counselor=counselor) for _ in range(3)]
    client_for(counselor).get("/api/v1/dashboard/caseload/")
    recorded = set(AuditEntry.objects.values_list("enrollment_id", flat=True))
    assert recorded == {p.id for p in patients}


def test_a_patient_reading_their_own_data_is_not_a_staff_access(enrollment):
    client_for(enrollment.patient).post(
        "/api/v1/checkins/",
        {
            "id": str(uuid.uuid4()),
            "mood": 3,
            "craving": 1,
            "used_substance": False,
            "device_time": timezone.now().isoformat(),
            "device_timezone": "America/New_York",
        },
        format="json",
    )
    assert not AuditEntry.objects.exists()


def test_refused_requests_disclose_nothing_and_record_nothing(enrollment):
    stranger = CounselorFactory(program=enrollment.program)
    assert client_for(stranger).get(f"/api/v1/patients/{enrollment.id}/").status_code == 404
    assert not AuditEntry.objects.exists()


def test_entries_cannot_be_changed_or_deleted(counselor, enrollment):
    client_for(counselor).get(f"/api/v1/patients/{enrollment.id}/")
    entry = AuditEntry.objects.get()
    entry.resource = "tampered"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.update(resource="tampered")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()


def test_a_supervisor_queries_only_their_programs_trail(counselor, supervisor, enrollment):
    client_for(counselor).get(f"/api/v1/patients/{enrollment.id}/")
    elsewhere = EnrollmentFactory()
    client_for(elsewhere.primary_counselor).get(f"/api/v1/patients/{elsewhere.id}/")

    mine = client_for(supervisor).get("/api/v1/audit/", {"patient": enrollment.id}).json()
    assert [row["patient"] for row in mine["results"]] == [enrollment.id]
    other_supervisor = SupervisorFactory(program=elsewhere.program)
    theirs = client_for(other_supervisor).get("/api/v1/audit/").json()
    assert {row["patient"] for row in theirs["results"]} == {elsewhere.id}
    assert client_for(counselor).get("/api/v1/audit/").status_code == 403


def test_a_patient_sees_who_opened_their_record(counselor, enrollment):
    client_for(counselor).get(f"/api/v1/patients/{enrollment.id}/timeline/")
    log = client_for(enrollment.patient).get("/api/v1/me/access-log/").json()["results"]
    assert len(log) == 1
    assert log[0]["actor_role"] == "counselor"
    assert log[0]["resource"] == "patient-timeline"
