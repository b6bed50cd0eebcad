"""Questionnaires as the app and the care team use them: due lists, the patient's
language, idempotent (and raced) submissions, refused partial answers, late answers,
and who may see what."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import Notification
from recovery.models import (
    AssignmentStatus,
    Enrollment,
    QuestionnaireAssignment,
    QuestionnaireResponse,
    QuestionnaireSchedule,
    Stage,
    User,
)
from recovery.notification_kinds import NotificationKind
from recovery.services.questionnaire_schedules import questionnaire_assign, questionnaires_sweep
from tests.conftest import client_for
from tests.factories import CounselorFactory, EnrollmentFactory, SupervisorFactory

URL = "/api/v1/questionnaire-responses/"


def phq9_body(total: int = 7, **overrides: Any) -> dict[str, Any]:
    answers = {}
    for index in range(1, 10):
        value = min(3, total) if index != 9 else 0
        answers[str(index)] = str(value)
        total -= value
    assert total == 0, "keep item 9 at zero"
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "instrument": "phq9",
        "answers": answers,
        "device_time": timezone.now().isoformat(),
        "device_timezone": "America/New_York",
    }
    body.update(overrides)
    return body


# --- what is due, in which language ----------------------------------------------------


@pytest.mark.django_db
def test_a_scheduled_questionnaire_becomes_due_with_a_reminder_and_missed_when_closed(
    enrollment: Enrollment,
) -> None:
    QuestionnaireSchedule.objects.create(
        program=enrollment.program, instrument="phq9", every_days=14, window_days=3
    )
    QuestionnaireSchedule.objects.create(
        program=enrollment.program, instrument="bam", every_days=7, stage=Stage.MAINTENANCE
    )
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert questionnaires_sweep().made_due == 1  # the BAM line is for another stage
        assert questionnaires_sweep().made_due == 0  # not again within 14 days
        due = client_for(enrollment.patient).get("/api/v1/me/questionnaires/").json()
    assert [d["instrument"] for d in due] == ["phq9"]
    reminder = Notification.objects.get(kind=NotificationKind.QUESTIONNAIRE_DUE)
    assert reminder.expires_at == start + timedelta(days=3)
    with time_machine.travel(start + timedelta(days=3, minutes=1), tick=False):
        assert questionnaires_sweep().missed == 1
        assert client_for(enrollment.patient).get("/api/v1/me/questionnaires/").json() == []
    with time_machine.travel(start + timedelta(days=14), tick=False):
        assert questionnaires_sweep().made_due == 1
    statuses = list(QuestionnaireAssignment.objects.values_list("status", flat=True))
    assert statuses == [AssignmentStatus.MISSED, AssignmentStatus.DUE]


@pytest.mark.django_db
def test_the_questionnaire_comes_in_the_patients_language(
    enrollment: Enrollment, patient_client: APIClient
) -> None:
    english = patient_client.get("/api/v1/me/questionnaires/phq9/").json()
    assert english["language"] == "en"
    assert english["items"][0]["text"] == "Little interest or pleasure in doing things"
    assert "score" not in english["items"][0]["options"][0]
    enrollment.language = "es"
    enrollment.save()
    spanish = patient_client.get("/api/v1/me/questionnaires/phq9/").json()
    assert spanish["language"] == "es"
    assert spanish["items"][0]["text"] == "Poco interés o placer en hacer cosas"
    assert spanish["items"][0]["options"][0]["text"] == "Ningún día"
    # No Spanish BAM exists: the English one is shown rather than none.
    assert patient_client.get("/api/v1/me/questionnaires/bam/").json()["language"] == "en"
    assert patient_client.get("/api/v1/me/questionnaires/nope/").status_code == 404


# --- submitting --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_submission_is_scored_on_the_server_and_replayed_once(
    enrollment: Enrollment, patient_client: APIClient
) -> None:
    questionnaire_assign(enrollment=enrollment, instrument="phq9")
    body = phq9_body(total=12)
    answers = [patient_client.post(URL, body, format="json") for _ in range(5)]
    assert {a.status_code for a in answers} == {201}
    first = answers[0].json()
    assert (first["total"], first["band"], first["is_late"]) == (12, "Moderate", False)
    assert all(a.json() == first for a in answers)
    assert all(a.headers["Idempotent-Replayed"] == "true" for a in answers[1:])
    assert QuestionnaireResponse.objects.count() == 1
    assert QuestionnaireAssignment.objects.get().status == AssignmentStatus.COMPLETED


@pytest.mark.django_db
def test_the_same_id_with_other_answers_is_refused(patient_client: APIClient) -> None:
    body = phq9_body(total=3)
    assert patient_client.post(URL, body, format="json").status_code == 201
    changed = patient_client.post(URL, phq9_body(total=4, id=body["id"]), format="json")
    assert changed.status_code == 422
    assert changed.json()["error"]["code"] == "idempotency_conflict"
    assert QuestionnaireResponse.objects.get().total == 3


@pytest.mark.django_db
def test_partial_answers_are_refused_with_a_message_per_item(patient_client: APIClient) -> None:
    body = phq9_body()
    del body["answers"]["9"]
    body["answers"]["2"] = "5"
    response = patient_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "answers.9": ["This question needs an answer."],
        "answers.2": ["One of: 0, 1, 2, 3."],
    }
    assert QuestionnaireResponse.objects.count() == 0


@pytest.mark.django_db
def test_scores_sent_by_the_app_are_not_accepted(patient_client: APIClient) -> None:
    response = patient_client.post(URL, {**phq9_body(), "total": 0}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["total"] == ["Unknown or read-only field."]


@pytest.mark.django_db
def test_an_answer_after_the_window_closed_is_kept_and_marked_late(
    enrollment: Enrollment, patient_client: APIClient
) -> None:
    start = timezone.now() - timedelta(days=5)
    with time_machine.travel(start, tick=False):
        questionnaire_assign(enrollment=enrollment, instrument="phq9", window_days=2)
    questionnaires_sweep()
    response = patient_client.post(URL, phq9_body(), format="json")
    assert response.status_code == 201
    assert response.json()["is_late"] is True
    assignment = QuestionnaireAssignment.objects.get()
    assert assignment.status == AssignmentStatus.MISSED  # still counted as missed
    assert assignment.responses.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_response_posted_concurrently_is_stored_once() -> None:
    enrollment = EnrollmentFactory()
    patient: User = enrollment.patient
    body = phq9_body(total=21)

    def post(_: int) -> tuple[int, Any]:
        try:
            response = client_for(patient).post(URL, body, format="json")
            return response.status_code, response.json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, range(16)))

    assert {code for code, _ in answers} == {201}, answers
    assert len({repr(sorted(b.items())) for _, b in answers}) == 1
    assert QuestionnaireResponse.objects.filter(enrollment=enrollment).count() == 1
    assert enrollment.flags.filter(kind="severe_score").count() == 1


# --- who sees what -----------------------------------------------------------------------


@pytest.mark.django_db
def test_scores_are_seen_by_the_care_team_and_nobody_else(
    enrollment: Enrollment, patient_client: APIClient, counselor_client: APIClient
) -> None:
    patient_client.post(URL, phq9_body(total=9), format="json")
    scores_url = f"/api/v1/patients/{enrollment.id}/scores/"
    mine = counselor_client.get(scores_url).json()
    assert [p["total"] for p in mine["phq9"]["points"]] == [9]
    assert mine["phq9"]["bands"][0] == {"min": 0, "max": 4, "label": "Minimal"}

    off_caseload = CounselorFactory(program=enrollment.program)
    other_program = SupervisorFactory()
    other_patient = EnrollmentFactory(program=enrollment.program)
    for outsider in (off_caseload, other_program):
        assert client_for(outsider).get(scores_url).status_code == 404
        assert client_for(outsider).get(URL).json() == []
        assign = client_for(outsider).post(
            f"/api/v1/patients/{enrollment.id}/questionnaires/", {"instrument": "gad7"}
        )
        assert assign.status_code == 404
    assert client_for(other_patient.patient).get(URL).json() == []
    assert client_for(other_patient.patient).get(scores_url).status_code == 403


@pytest.mark.django_db
def test_a_counselor_assigns_a_questionnaire_and_the_patient_sees_it_due(
    enrollment: Enrollment, patient_client: APIClient, counselor_client: APIClient
) -> None:
    url = f"/api/v1/patients/{enrollment.id}/questionnaires/"
    made = counselor_client.post(url, {"instrument": "gad7"}, format="json")
    assert made.status_code == 201
    again = counselor_client.post(url, {"instrument": "gad7"}, format="json")
    assert again.json()["assignment_id"] == made.json()["assignment_id"]
    assert counselor_client.post(url, {"instrument": "nope"}).status_code == 400
    due = patient_client.get("/api/v1/me/questionnaires/").json()
    assert [d["instrument"] for d in due] == ["gad7"]


# --- cost ------------------------------------------------------------------------------


def _controls_the_transaction(sql: str) -> bool:
    return sql in {"BEGIN", "COMMIT"} or sql.startswith(("SAVEPOINT ", "RELEASE SAVEPOINT "))


@pytest.mark.django_db
def test_a_scheduled_phq9_submission_costs_at_most_five_statements(
    enrollment: Enrollment, settings: Any, django_assert_max_num_queries: Any
) -> None:
    """The everyday submission answers a due assignment: the patient (with program and
    its alert settings) is read once, the assignment and the baseline in one statement,
    then the response is stored, the assignment completed and the incentives looked up."""
    from notifications.presence import presence_flush

    settings.APP_HEARD_WRITE_DELAY_SECONDS = 60
    questionnaire_assign(enrollment=enrollment, instrument="phq9")
    client = client_for(enrollment.patient)
    try:
        with django_assert_max_num_queries(5 + 2) as captured:
            response = client.post(URL, phq9_body(total=7), format="json")
    finally:
        presence_flush()
    assert response.status_code == 201, response.content
    statements = [q["sql"] for q in captured.captured_queries]
    assert len([s for s in statements if not _controls_the_transaction(s)]) <= 5, statements
    assignment = QuestionnaireAssignment.objects.get(enrollment=enrollment, instrument="phq9")
    assert assignment.status == AssignmentStatus.COMPLETED


# --- once at intake ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_once_line_makes_the_screener_due_once_per_patient_never_again(
    enrollment: Enrollment,
) -> None:
    supervisor = SupervisorFactory(program=enrollment.program)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        line = client_for(supervisor).post(
            "/api/v1/program/questionnaire-schedule/",
            {"instrument": "cssrs_screen", "once": True, "window_days": 7},
            format="json",
        )
        assert line.status_code == 200, line.content
        assert line.json()["once"] is True
        assert line.json()["every_days"] is None
        assert questionnaires_sweep().made_due == 1
        assert questionnaires_sweep().made_due == 0
    newcomer = EnrollmentFactory(program=enrollment.program)
    with time_machine.travel(start + timedelta(days=400), tick=False):
        assert questionnaires_sweep().made_due == 1  # the newcomer's intake, not again
    assigned = QuestionnaireAssignment.objects.filter(instrument="cssrs_screen")
    assert sorted(assigned.values_list("enrollment_id", flat=True)) == sorted(
        [enrollment.id, newcomer.id]
    )
    lines = client_for(supervisor).get("/api/v1/program/questionnaire-schedule/").json()
    assert [(x["instrument"], x["once"]) for x in lines] == [("cssrs_screen", True)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"instrument": "cssrs_screen"},
        {"instrument": "cssrs_screen", "once": True, "every_days": 7},
    ],
)
def test_a_schedule_line_is_either_every_n_days_or_once(
    enrollment: Enrollment, body: dict[str, Any]
) -> None:
    supervisor = SupervisorFactory(program=enrollment.program)
    response = client_for(supervisor).post(
        "/api/v1/program/questionnaire-schedule/", body, format="json"
    )
    assert response.status_code == 400
    assert "every_days" in response.json()["error"]["fields"]
    assert not QuestionnaireSchedule.objects.exists()
