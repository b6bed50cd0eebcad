"""A 12-week course of measurement-based care, driven through the API with time travel.

Monday 1 June 2026, New York. The supervisor schedules the BAM weekly and the PHQ-9 every
two weeks; the counselor writes a plan whose goal is a PHQ-9 of 9 or less by week 8.
Every morning the sweep runs; the patient answers each questionnaire the day it is due.
The PHQ-9 falls 18, 15, 12, 9, 8, 7, 6 (weeks 0 to 12); BAM drinking days fall from 12
to none.

What must happen: reliable improvement (6 points) from week 4, response (a 50% drop from
18, so 9 or less) from week 6, no remission (6 is not below 5); the goal is met from week
6; the caseload shows the latest score, band and change; the program report shows one
patient improved and responded, none remitted, every questionnaire completed; the CSV says
the same; only the supervisor reads it, and the read is audited.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from recovery.models import AuditEntry, FlagKind, QuestionnaireAssignment
from recovery.services.questionnaire_schedules import questionnaires_sweep
from tests.conftest import client_for
from tests.factories import CounselorFactory, EnrollmentFactory, ProgramFactory, SupervisorFactory

pytestmark = pytest.mark.django_db

START = date(2026, 6, 1)
MORNING = 13  # 09:00 in New York
PHQ9_BY_WEEK = {0: 18, 2: 15, 4: 12, 6: 9, 8: 8, 10: 7, 12: 6}
BAM_DRINKING_DAYS = [12, 10, 8, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0]  # weeks 0 to 12


def at(day: int, hour: int = MORNING) -> datetime:
    moment = START + timedelta(days=day)
    return datetime(moment.year, moment.month, moment.day, hour, 0, tzinfo=UTC)


def ok(response: Any, code: int = 200) -> Any:
    assert response.status_code == code, response.content
    return response.json()


def phq9_answers(total: int) -> dict[str, str]:
    answers = {}
    for index in range(1, 10):
        value = 0 if index == 9 else min(3, total)
        answers[str(index)] = str(value)
        total -= value
    return answers


def bam_answers(drinking_days: int) -> dict[str, Any]:
    answers: dict[str, Any] = {str(i): "1" for i in (1, 2, 3, 8, 9, 10, 11, 12, 13, 15, 16, 17)}
    answers.update({"4": drinking_days, "5": 0, "6": 0, "14": "yes"})
    return answers


def test_twelve_weeks_of_scores_close_the_loop(time_machine: Any) -> None:
    time_machine.move_to(at(0), tick=False)
    program = ProgramFactory(timezone="America/New_York")
    counselor = CounselorFactory(program=program)
    supervisor = SupervisorFactory(program=program)
    enrollment = EnrollmentFactory(program=program, primary_counselor=counselor)
    for instrument, every in (("bam", 7), ("phq9", 14)):
        ok(
            client_for(supervisor).post(
                "/api/v1/program/questionnaire-schedule/",
                {"instrument": instrument, "every_days": every, "window_days": 3},
                format="json",
            )
        )
    plan = ok(
        client_for(counselor).post(
            "/api/v1/plans/",
            {
                "patient": enrollment.id,
                "goals": [
                    {
                        "domain": "mental_health",
                        "description": "Depression down to mild",
                        "metric": "questionnaire_score",
                        "instrument": "phq9",
                        "target_value": "9",
                        "due_date": (START + timedelta(weeks=8)).isoformat(),
                    }
                ],
            },
            format="json",
        ),
        201,
    )
    goal_id = plan["goals"][0]["id"]

    changes: dict[int, Any] = {}
    goal_met: dict[int, bool | None] = {}
    for day in range(0, 12 * 7 + 1):
        time_machine.move_to(at(day), tick=False)
        questionnaires_sweep()
        patient = client_for(enrollment.patient)
        due = ok(patient.get("/api/v1/me/questionnaires/"))
        week = day // 7
        for item in due:
            code = item["instrument"]
            answers = (
                phq9_answers(PHQ9_BY_WEEK[week])
                if code == "phq9"
                else bam_answers(BAM_DRINKING_DAYS[week])
            )
            ok(
                patient.post(
                    "/api/v1/questionnaire-responses/",
                    {
                        "id": str(uuid.uuid4()),
                        "instrument": code,
                        "answers": answers,
                        "device_time": at(day, MORNING).isoformat(),
                        "device_timezone": "America/New_York",
                    },
                    format="json",
                ),
                201,
            )
            if code == "phq9":
                scores = ok(client_for(counselor).get(f"/api/v1/patients/{enrollment.id}/scores/"))
                changes[week] = scores["phq9"]["change"]
                goal = ok(client_for(counselor).get(f"/api/v1/goals/{goal_id}/"))
                goal_met[week] = goal["progress"]["target_met"]

    # Every questionnaire came due on its day and was answered: 13 BAMs, 7 PHQ-9s.
    assert QuestionnaireAssignment.objects.filter(instrument="bam").count() == 13
    assert QuestionnaireAssignment.objects.filter(instrument="phq9").count() == 7
    assert set(QuestionnaireAssignment.objects.values_list("status", flat=True)) == {"completed"}

    assert changes.pop(0) is None  # one score is no change yet
    assert sorted(changes) == [2, 4, 6, 8, 10, 12]
    improved = {w for w, c in changes.items() if c["reliable_improvement"]}
    responded = {w for w, c in changes.items() if c["response"]}
    remitted = {w for w, c in changes.items() if c["remission"]}
    assert improved == {4, 6, 8, 10, 12}
    assert responded == {6, 8, 10, 12}
    assert remitted == set()
    assert goal_met == {0: False, 2: False, 4: False, 6: True, 8: True, 10: True, 12: True}

    # BAM drinking days raised warnings while there were any, and none after.
    use_flags = enrollment.flags.filter(kind=FlagKind.QUESTIONNAIRE_USE)
    assert use_flags.count() == 9
    assert not enrollment.flags.filter(kind=FlagKind.SCORE_WORSENING).exists()

    (row,) = ok(client_for(counselor).get("/api/v1/dashboard/caseload/"))
    phq9 = next(s for s in row["scores"] if s["instrument"] == "phq9")
    assert (phq9["total"], phq9["band"], phq9["change_since_baseline"]) == (6, "Mild", -12)
    assert row["questionnaires_missed"] == 0

    assert client_for(counselor).get("/api/v1/reports/questionnaires/").status_code == 403
    audited_before = AuditEntry.objects.filter(actor=supervisor).count()
    report = {
        r["instrument"]: r
        for r in ok(client_for(supervisor).get("/api/v1/reports/questionnaires/"))
    }
    assert report["phq9"]["patients_with_two_or_more"] == 1
    assert report["phq9"]["share_improved"] == 1.0
    assert report["phq9"]["share_responded"] == 1.0
    assert report["phq9"]["share_remitted"] == 0.0
    assert report["phq9"]["completion_rate"] == 1.0
    assert report["bam"]["patients"][0]["baseline"] == 12
    assert report["bam"]["patients"][0]["latest"] == 0
    assert report["bam"]["share_improved"] == 1.0
    assert report["bam"]["share_responded"] is None  # the BAM has no response rule
    supervisor_reads = AuditEntry.objects.filter(actor=supervisor, enrollment_id=enrollment.id)
    assert supervisor_reads.count() > audited_before

    # Another program's supervisor sees none of it.
    assert ok(client_for(SupervisorFactory()).get("/api/v1/reports/questionnaires/")) == []

    exported = client_for(supervisor).get("/api/v1/reports/questionnaires/?output=csv")
    assert exported["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0][:4] == ["instrument", "patient", "baseline", "latest"]
    assert ["phq9", str(enrollment.id), "18", "6", "-12", "True", "True", "False"] in rows


def test_a_patient_without_reliable_improvement_after_four_weeks_is_listed(
    time_machine: Any,
) -> None:
    from recovery.services.questionnaires import questionnaire_submit

    time_machine.move_to(at(0), tick=False)
    program = ProgramFactory(timezone="America/New_York")
    counselor = CounselorFactory(program=program)
    stuck = EnrollmentFactory(program=program, primary_counselor=counselor)
    better = EnrollmentFactory(program=program, primary_counselor=counselor)
    for day, totals in ((0, (14, 14)), (21, (13, 9)), (28, (13, 8))):
        time_machine.move_to(at(day), tick=False)
        for enrollment, total in zip((stuck, better), totals, strict=True):
            questionnaire_submit(
                enrollment=enrollment,
                client_id=uuid.uuid4(),
                instrument="phq9",
                answers=phq9_answers(total),
                device_time=at(day),
                device_timezone="America/New_York",
            )
        listed = ok(client_for(counselor).get("/api/v1/questionnaires/not-improving/"))
        patients = [row["patient"] for row in listed]
        # Listed only once four weeks separate the baseline from the latest score.
        assert patients == ([stuck.id] if day >= 28 else [])
    other_counselor = CounselorFactory(program=program)
    assert ok(client_for(other_counselor).get("/api/v1/questionnaires/not-improving/")) == []
