"""Contingency management through the API: who may set, see and redeem what; refusals
with field errors; the report in JSON and CSV, audited."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest

from recovery.models import AuditEntry, IncentiveEntry
from recovery.services.incentive_program import OPIOID_REFUSAL
from tests.conftest import client_for
from tests.factories import (
    CounselorFactory,
    EnrollmentFactory,
    ProgramFactory,
    SupervisorFactory,
)

pytestmark = pytest.mark.django_db

PROTOCOL = {
    "name": "Stimulant-negative vouchers",
    "behaviour": "negative_screen",
    "substance": "cocaine",
    "schedule": "escalating",
    "start": 250,
    "step": 125,
    "maximum": 1000,
    "return_after": 3,
}


@pytest.fixture
def world(time_machine: Any) -> dict[str, Any]:
    time_machine.move_to(datetime(2026, 6, 3, 16, 0, tzinfo=UTC), tick=False)
    program = ProgramFactory()
    enrollment = EnrollmentFactory(program=program, start_date=date(2026, 6, 1))
    supervisor = SupervisorFactory(program=program)
    client_for(supervisor).post("/api/v1/incentive-protocols/", PROTOCOL, format="json")
    return {
        "program": program,
        "enrollment": enrollment,
        "counselor": enrollment.primary_counselor,
        "supervisor": supervisor,
    }


def negative_screen(world: dict[str, Any], enrollment: Any = None) -> Any:
    enrollment = enrollment or world["enrollment"]
    return client_for(world["counselor"]).post(
        "/api/v1/screens/",
        {
            "patient": enrollment.id,
            "collected_on": "2026-06-03",
            "method": "urine",
            "observed": True,
            "results": [{"substance": "cocaine", "result": "negative"}],
        },
        format="json",
    )


def test_an_opioid_abstinence_target_is_refused_with_a_field_error(world: Any) -> None:
    answer = client_for(world["supervisor"]).post(
        "/api/v1/incentive-protocols/", {**PROTOCOL, "substance": "fentanyl"}, format="json"
    )
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["fields"]["substance"] == [OPIOID_REFUSAL]


def test_only_supervisors_set_protocols_caps_and_the_catalogue(world: Any) -> None:
    counselor = client_for(world["counselor"])
    patient = client_for(world["enrollment"].patient)
    for client in (counselor, patient):
        for url, body in (
            ("/api/v1/incentive-protocols/", PROTOCOL),
            ("/api/v1/incentives/catalogue/", {"name": "Bus pass", "value_cents": 2500}),
        ):
            assert client.post(url, body, format="json").status_code == 403
        assert (
            client.put(
                "/api/v1/incentives/settings/", {"patient_year_cap_cents": 10}, format="json"
            ).status_code
            == 403
        )
    assert counselor.get("/api/v1/incentive-protocols/").status_code == 200
    assert "spending" not in counselor.get("/api/v1/incentives/settings/").json()
    supervisor = client_for(world["supervisor"])
    assert "spending" in supervisor.get("/api/v1/incentives/settings/").json()
    changes = AuditEntry.objects.filter(actor=world["supervisor"], enrollment_id=None)
    assert list(changes.values_list("action", "resource")) == [
        (
            "create",
            f"incentive-protocol:{supervisor.get('/api/v1/incentive-protocols/').json()[0]['id']}",
        )
    ]


def test_the_cap_is_at_most_the_federal_750_dollars(world: Any) -> None:
    answer = client_for(world["supervisor"]).put(
        "/api/v1/incentives/settings/",
        {"patient_year_cap_cents": 75_001, "year_budget_cents": 100_000},
        format="json",
    )
    assert answer.status_code == 400
    assert "patient_year_cap_cents" in answer.json()["error"]["fields"]


def test_cash_is_not_a_catalogue_item(world: Any) -> None:
    answer = client_for(world["supervisor"]).post(
        "/api/v1/incentives/catalogue/", {"name": "Cash $20", "value_cents": 2000}, format="json"
    )
    assert answer.status_code == 400
    assert "never cash" in answer.json()["error"]["fields"]["name"][0]


def test_the_patient_sees_the_balance_and_the_next_target(world: Any) -> None:
    assert negative_screen(world).status_code == 201
    mine = client_for(world["enrollment"].patient).get("/api/v1/me/incentives/").json()
    assert mine["balance_cents"] == 250
    assert [(e["kind"], e["amount_cents"]) for e in mine["ledger"]] == [("earned", 250)]
    assert mine["targets"][0]["next_value_cents"] == 375
    assert mine["cap_left_cents"] == 75_000 - 250


def test_who_reaches_a_patients_rewards(world: Any) -> None:
    negative_screen(world)
    enrollment = world["enrollment"]
    url = f"/api/v1/patients/{enrollment.id}/incentives/"
    other_patient = EnrollmentFactory(program=world["program"]).patient
    off_caseload = CounselorFactory(program=world["program"])
    elsewhere = SupervisorFactory(program=ProgramFactory())
    for stranger in (other_patient, off_caseload, elsewhere):
        assert client_for(stranger).get(url).status_code == 404
    assert client_for(world["counselor"]).get(url).json()["balance_cents"] == 250
    assert client_for(enrollment.patient).get(url).json()["balance_cents"] == 250
    assert client_for(world["supervisor"]).get(url).status_code == 200
    reads = AuditEntry.objects.filter(
        actor=world["counselor"], enrollment_id=enrollment.id, resource="patient-incentives"
    )
    assert reads.count() == 1


def test_staff_redeem_against_the_catalogue_within_the_balance(world: Any) -> None:
    item = (
        client_for(world["supervisor"])
        .post(
            "/api/v1/incentives/catalogue/",
            {"name": "Grocery voucher", "value_cents": 200},
            format="json",
        )
        .json()
    )
    dear = (
        client_for(world["supervisor"])
        .post(
            "/api/v1/incentives/catalogue/",
            {"name": "Bus pass", "value_cents": 2500},
            format="json",
        )
        .json()
    )
    negative_screen(world)
    enrollment = world["enrollment"]
    url = f"/api/v1/patients/{enrollment.id}/redemptions/"
    counselor = client_for(world["counselor"])
    too_dear = counselor.post(url, {"item": dear["id"]}, format="json")
    assert too_dear.status_code == 400
    assert "balance" in too_dear.json()["error"]["fields"]["item"][0]
    assert (
        client_for(CounselorFactory(program=world["program"]))
        .post(url, {"item": item["id"]}, format="json")
        .status_code
        == 404
    )
    assert (
        client_for(enrollment.patient).post(url, {"item": item["id"]}, format="json").status_code
        == 403
    )
    redeemed = counselor.post(url, {"item": item["id"]}, format="json")
    assert redeemed.status_code == 201, redeemed.content
    assert redeemed.json()["amount_cents"] == -200
    assert (
        client_for(enrollment.patient).get("/api/v1/me/incentives/").json()["balance_cents"] == 50
    )
    assert AuditEntry.objects.filter(
        actor=world["counselor"], enrollment_id=enrollment.id, action="create"
    ).exists()


def test_another_programs_protocol_cannot_be_ended(world: Any) -> None:
    protocol = client_for(world["supervisor"]).get("/api/v1/incentive-protocols/").json()[0]
    elsewhere = client_for(SupervisorFactory(program=ProgramFactory()))
    url = f"/api/v1/incentive-protocols/{protocol['id']}/end/"
    assert elsewhere.post(url).status_code == 404
    ended = client_for(world["supervisor"]).post(url)
    assert ended.json()["active"] is False
    negative_screen(world)
    assert IncentiveEntry.objects.count() == 0


def test_a_screen_of_another_program_cannot_be_corrected(world: Any) -> None:
    screen = negative_screen(world).json()
    elsewhere = client_for(SupervisorFactory(program=ProgramFactory()))
    off_caseload = client_for(CounselorFactory(program=world["program"]))
    body = {"observed": True, "results": [{"substance": "cocaine", "result": "positive"}]}
    for client in (elsewhere, off_caseload):
        assert (
            client.post(f"/api/v1/screens/{screen['id']}/correct/", body, format="json").status_code
            == 404
        )
    corrected = client_for(world["counselor"]).post(
        f"/api/v1/screens/{screen['id']}/correct/", body, format="json"
    )
    assert corrected.status_code == 200, corrected.content
    assert corrected.json()["outcome"] == "positive"
    assert corrected.json()["flags"] == ["positive_screen"]
    ledger = client_for(world["enrollment"].patient).get("/api/v1/me/incentives/").json()["ledger"]
    assert [(e["kind"], e["amount_cents"]) for e in ledger] == [("earned", 250), ("reversed", -250)]


def test_the_report_is_for_supervisors_in_json_and_csv_and_audited(world: Any) -> None:
    negative_screen(world)
    assert client_for(world["counselor"]).get("/api/v1/incentives/report/").status_code == 403
    assert (
        client_for(world["enrollment"].patient).get("/api/v1/incentives/report/").status_code == 403
    )
    supervisor = client_for(world["supervisor"])
    report = supervisor.get("/api/v1/incentives/report/").json()
    assert (report["participants"], report["earned_cents"]) == (1, 250)
    assert report["cost_per_participant_cents"] == 250
    answer = supervisor.get("/api/v1/incentives/report/csv/")
    assert answer["Content-Type"].startswith("text/csv")
    rows = dict(csv.reader(io.StringIO(answer.content.decode())))
    assert rows["earned_cents"] == "250"
    assert rows["since.screens.negative"] == "1"
    trail = AuditEntry.objects.filter(resource="incentive-report", actor=world["supervisor"])
    assert sorted(trail.values_list("action", flat=True)) == ["export", "read"]
    other = SupervisorFactory(program=ProgramFactory())
    assert client_for(other).get("/api/v1/incentives/report/").json()["participants"] == 0
