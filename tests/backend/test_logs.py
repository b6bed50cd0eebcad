"""Structured logs: one JSON event per request and per job, and nothing a patient wrote."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from django.utils import timezone

from backend.logs import json_formatter
from backend.schedule import run_job
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)

NOTE = "Relapsed at Maple Street with my cousin Theodora"
TRIGGER = "Argument with Bartholomew about rent"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every record of every logger at DEBUG, as the production handler writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _events(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_crisis_check_in_with_a_note_leaves_none_of_its_words_in_the_logs(captured, enrollment):
    patient = enrollment.patient
    patient.first_name, patient.last_name = "Wilhelmina", "Quackenbush"
    patient.save()
    response = client_for(patient).post(
        "/api/v1/checkins/",
        {
            "id": str(uuid.uuid4()),
            "mood": 1,
            "craving": 9,
            "used_substance": True,
            "self_harm_thoughts": True,
            "triggers": ["other"],
            "trigger_other": TRIGGER,
            "note": NOTE,
            "device_time": timezone.now().isoformat(),
            "device_timezone": enrollment.timezone,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    run_job("dispatch_notifications")

    text = captured.getvalue()
    for secret in (NOTE, TRIGGER, "Maple", "Theodora", "Bartholomew", "Wilhelmina", "Quackenbush"):
        assert secret not in text
    assert "self_harm" not in text
    events = _events(captured)  # every line is one JSON object
    requests = [e for e in events if e.get("event") == "request"]
    assert len(requests) == 1
    request = requests[0]
    assert request["user_id"] == patient.id
    assert request["role"] == "patient"
    assert request["status"] == 201
    assert request["route"] == "api/v1/checkins/"
    assert len(str(request["request_id"])) >= 8
    assert response["X-Request-ID"] == request["request_id"]


def test_every_record_during_a_request_carries_its_request_id(captured, counselor):
    response = client_for(counselor).get("/api/v1/patients/", HTTP_X_REQUEST_ID="proxy-id-1234")
    assert response["X-Request-ID"] == "proxy-id-1234"
    during = [e for e in _events(captured) if e.get("request_id") == "proxy-id-1234"]
    assert any(e["event"] == "request" and e["role"] == "counselor" for e in during)


def test_a_request_id_that_is_not_one_is_replaced(captured, counselor):
    response = client_for(counselor).get("/api/v1/patients/", HTTP_X_REQUEST_ID='x"\n{}')
    assert response["X-Request-ID"] != 'x"\n{}'


def test_a_job_logs_one_event_with_its_outcome(captured):
    run_job("sweep_missed_checkins")
    jobs = [e for e in _events(captured) if e.get("event") == "job"]
    assert len(jobs) == 1
    assert jobs[0]["job"] == "sweep_missed_checkins"
    assert jobs[0]["outcome"] == "ok"
    assert isinstance(jobs[0]["duration_ms"], float)


def test_django_request_lines_name_no_path(captured, counselor):
    """A 404 for a patient id says so by status, never by the path with the id in it."""
    response = client_for(counselor).get("/api/v1/patients/987654/safety-plan/")
    assert response.status_code == 404
    logged = captured.getvalue()
    assert "987654" not in logged
    assert any(e.get("event") == "response 404" for e in _events(captured))
