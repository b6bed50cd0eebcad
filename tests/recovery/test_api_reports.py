"""The program reports through the API: supervisors only, their own program only, JSON and
CSV with the same figures, the range validated, every read audited and a CSV download
recorded as an export; a flag resolved as needing no action; the service-day settings."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from recovery.models import AuditEntry, Enrollment, Flag, Program
from recovery.services.sessions import attendance_record
from tests.conftest import client_for
from tests.factories import (
    CounselorFactory,
    EnrollmentFactory,
    ProgramFactory,
    SessionFactory,
    SupervisorFactory,
)

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 20, 16, tzinfo=UTC)
RANGE = "start=2026-03-02&end=2026-03-08"


@pytest.fixture
def world(time_machine: Any) -> dict[str, Any]:
    time_machine.move_to(NOW, tick=False)
    program = ProgramFactory(timezone="America/New_York")
    supervisor = SupervisorFactory(program=program)
    enrollment = EnrollmentFactory(program=program, start_date=date(2026, 2, 23))
    # Monday to Wednesday 2-5 March, 9:00 to 12:00 in New York (14:00 UTC).
    for day in (2, 3, 4):
        starts = datetime(2026, 3, day, 14, tzinfo=UTC)
        session = SessionFactory(
            program=program, starts_at=starts, ends_at=starts + timedelta(hours=3)
        )
        session.patients.set([enrollment])
        attendance_record(
            session=session, enrollment=enrollment, status="present", actor=supervisor
        )
    Flag.objects.create(
        enrollment=enrollment,
        kind="urge",
        severity=20,
        window_key="w",
        created_at=datetime(2026, 3, 3, 15, tzinfo=UTC),
    )
    return {"program": program, "supervisor": supervisor, "enrollment": enrollment}


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_service_days_report_in_json_and_csv_agree(world: dict[str, Any]) -> None:
    client = client_for(world["supervisor"])
    data = client.get(f"/api/v1/reports/service-days/?{RANGE}").json()
    (patient,) = data["patients"]
    assert (patient["service_days"], patient["qualifying_weeks"]) == (3, 1)
    assert data["service_day_min_hours"] == "3.0"
    rows = _csv(client.get(f"/api/v1/reports/service-days/csv/?{RANGE}"))
    assert [(r["date"], r["hours"], r["service_day"], r["week_qualifies"]) for r in rows] == [
        (d["date"], str(d["hours"]), "yes", "yes") for d in patient["days"]
    ]
    assert rows[0]["patient_id"] == str(world["enrollment"].id)


def test_each_report_is_read_and_exported_with_an_audit_entry(world: dict[str, Any]) -> None:
    client = client_for(world["supervisor"])
    patient = world["enrollment"].id
    for name in ("adherence", "flags", "service-days"):
        assert client.get(f"/api/v1/reports/{name}/?{RANGE}").status_code == 200
        assert _csv(client.get(f"/api/v1/reports/{name}/csv/?{RANGE}"))
    trail = AuditEntry.objects.filter(actor=world["supervisor"], enrollment_id=patient)
    reads = trail.filter(action="read").values_list("resource", flat=True)
    assert sorted(reads) == ["report-adherence", "report-flags", "report-service-days"]
    exports = trail.filter(action="export").values_list("resource", flat=True)
    assert sorted(exports) == [
        *("report-adherence-csv", "report-flags-csv", "report-service-days-csv"),
    ]


def test_the_flags_report_counts_a_flag_resolved_as_needing_no_action(
    world: dict[str, Any], time_machine: Any
) -> None:
    client = client_for(world["supervisor"])
    flag = Flag.objects.get(enrollment=world["enrollment"])
    base = f"/api/v1/flags/{flag.id}"
    wrong = client.post(
        f"{base}/resolve/", {"outcome_note": "x", "resolution": "ignored"}, format="json"
    )
    assert wrong.status_code == 400
    assert "resolution" in wrong.json()["error"]["fields"]
    time_machine.move_to(flag.created_at + timedelta(minutes=45), tick=False)
    client = client_for(world["supervisor"])  # a token of that time
    body = {"outcome_note": "Checked in with her; fine.", "resolution": "no_action_needed"}
    resolved = client.post(f"{base}/resolve/", body, format="json")
    assert resolved.status_code == 200
    assert resolved.json()["resolution"] == "no_action_needed"

    report = client.get(f"/api/v1/reports/flags/?{RANGE}").json()
    (urge,) = report["kinds"]
    assert (urge["raised"], urge["resolved"], urge["share_no_action_needed"]) == (1, 1, 1.0)
    assert urge["minutes_to_resolve_median"] == 45.0

    reopened = client.post(f"{base}/reopen/", {}, format="json")
    assert reopened.json()["resolution"] == ""
    client.post(f"{base}/resolve/", {"outcome_note": "Called her."}, format="json")
    report = client.get(f"/api/v1/reports/flags/?{RANGE}").json()
    assert report["kinds"][0]["share_no_action_needed"] == 0.0


@pytest.mark.parametrize("url", ["/api/v1/reports/flags/", "/api/v1/reports/flags/csv/"])
def test_counselors_and_patients_are_refused_and_nothing_is_audited(
    world: dict[str, Any], url: str
) -> None:
    counselor = CounselorFactory(program=world["program"])
    for user in (counselor, world["enrollment"].patient):
        assert client_for(user).get(url).status_code == 403
    assert not AuditEntry.objects.filter(enrollment_id=world["enrollment"].id).exists()


def test_another_programs_supervisor_sees_none_of_these_patients(world: dict[str, Any]) -> None:
    stranger = client_for(SupervisorFactory(program=ProgramFactory()))
    assert stranger.get(f"/api/v1/reports/service-days/?{RANGE}").json()["patients"] == []
    assert stranger.get(f"/api/v1/reports/flags/?{RANGE}").json()["total"]["raised"] == 0
    rows = _csv(stranger.get(f"/api/v1/reports/adherence/csv/?{RANGE}"))
    assert {r["scope"] for r in rows} == {"program"}
    assert not AuditEntry.objects.filter(enrollment_id=world["enrollment"].id).exists()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-03-08&end=2026-03-02", "end"),
        ("start=2024-01-01&end=2026-03-02", "end"),
        ("start=yesterday", "start"),
        ("start=2026-03-02&colour=red", "colour"),
    ],
)
def test_a_bad_range_is_a_400_on_its_field(world: dict[str, Any], query: str, field: str) -> None:
    response = client_for(world["supervisor"]).get(f"/api/v1/reports/adherence/?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_an_unknown_report_is_404(world: dict[str, Any]) -> None:
    assert client_for(world["supervisor"]).get("/api/v1/reports/payroll/").status_code == 404


def test_without_a_range_the_last_four_weeks(world: dict[str, Any]) -> None:
    data = client_for(world["supervisor"]).get("/api/v1/reports/adherence/").json()
    assert (data["start"], data["end"]) == ("2026-02-23", "2026-03-20")
    assert [w["week_start"] for w in data["weeks"]] == [
        "2026-02-23",
        "2026-03-02",
        "2026-03-09",
        "2026-03-16",
    ]


def test_the_service_day_rules_are_program_settings(world: dict[str, Any]) -> None:
    client = client_for(world["supervisor"])
    changed = client.patch(
        "/api/v1/program/settings/",
        {"service_day_min_hours": "3.5", "service_week_min_days": 2},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    entry = AuditEntry.objects.get(resource="program_settings")
    assert entry.changes == {
        "service_day_min_hours": {"old": "3.0", "new": "3.5"},
        "service_week_min_days": {"old": 3, "new": 2},
    }
    (patient,) = client.get(f"/api/v1/reports/service-days/?{RANGE}").json()["patients"]
    assert patient["service_days"] == 0
    for body in ({"service_day_min_hours": "0.4"}, {"service_week_min_days": 8}):
        refused = client.patch("/api/v1/program/settings/", body, format="json")
        assert refused.status_code == 400
        assert set(refused.json()["error"]["fields"]) == set(body)
    program = Program.objects.get(id=world["program"].id)
    assert (str(program.service_day_min_hours), program.service_week_min_days) == ("3.5", 2)
    assert isinstance(world["enrollment"], Enrollment)
