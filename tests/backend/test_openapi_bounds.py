"""What the server enforces on dates, time zones and decimals is in the schema of what it
reads (backend.openapi.bound_inputs), so a generated client or a fuzzer sends valid data;
and the server refuses what the schema now says is invalid."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
from rest_framework.test import APIClient

from backend.openapi import TIME_ZONE_FORMAT, YEAR_IN_RANGE
from recovery.models import Enrollment
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@cache
def served() -> dict[str, Any]:
    schema: dict[str, Any] = APIClient().get("/api/schema/?format=json").json()
    return schema


def parameter(path: str, name: str) -> dict[str, Any]:
    parameters = served()["paths"][path]["get"]["parameters"]
    found: dict[str, Any] = next(p["schema"] for p in parameters if p["name"] == name)
    return found


def component(name: str) -> dict[str, Any]:
    found: dict[str, Any] = served()["components"]["schemas"][name]
    return found


@pytest.mark.parametrize(
    ("value", "inside"),
    [("1899-12-31", False), ("1900-01-01", True), ("2200-12-31", True), ("2201-01-01", False)],
)
def test_the_year_pattern_is_the_servers_range(value: str, inside: bool) -> None:
    assert bool(re.match(YEAR_IN_RANGE, value)) is inside


def test_dates_and_instants_the_server_reads_carry_the_range() -> None:
    assert parameter("/api/v1/checkins/", "updated_since")["pattern"] == YEAR_IN_RANGE
    assert parameter("/api/v1/contacts/", "updated_since")["pattern"] == YEAR_IN_RANGE
    medication = component("MedicationRequest")["properties"]
    assert medication["start_date"]["pattern"] == YEAR_IN_RANGE
    # What the server writes is not bounded by the pattern: only what it reads.
    assert "pattern" not in component("Medication")["properties"]["start_date"]


def test_time_zone_names_are_a_named_format() -> None:
    assert component("CheckInRequest")["properties"]["device_timezone"]["format"] == (
        TIME_ZONE_FORMAT
    )
    assert component("SeriesRequest")["properties"]["timezone"]["format"] == TIME_ZONE_FORMAT


def test_a_decimal_string_needs_a_digit() -> None:
    goal = component("GoalInputRequest")["properties"]["target_value"]
    pattern = re.compile(goal["pattern"])
    assert all(pattern.fullmatch(v) for v in ("3", "3.5", ".5", "-2", "3."))
    assert not any(pattern.fullmatch(v) for v in ("", ".", "-", "1e5"))


def test_the_two_schedule_bodies_are_two_components() -> None:
    questionnaire = component("QuestionnaireScheduleRequest")["properties"]
    assert "instrument" in questionnaire
    assert "instrument" not in component("ScheduleRequest")["properties"]


def test_the_server_refuses_a_year_the_pattern_refuses(enrollment: Enrollment) -> None:
    response = client_for(enrollment.patient).get(
        "/api/v1/contacts/", {"updated_since": "1899-12-31T12:00:00Z"}
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"updated_since"}


def test_a_patch_that_reads_its_whole_body_documents_what_it_requires() -> None:
    me = served()["paths"]["/api/v1/me/"]["patch"]["requestBody"]
    assert me["required"] is True
    assert component("MeUpdateRequest")["required"] == ["language"]
    assert component("PlanUpdateRequest")["required"] == ["summary"]
    # A partial update stays partial.
    assert "required" not in component("PatchedContactRequest")


@pytest.mark.django_db
def test_each_request_body_is_its_own_component() -> None:
    """Two serializers of one name share a component: assigning a questionnaire was
    documented as assigning a flag ({assignee}), which the server refuses."""
    paths = served()["paths"]

    def body(path: str) -> str:
        ref: str = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"][
            "$ref"
        ]
        return ref.rsplit("/", 1)[-1]

    questionnaire = component(body("/api/v1/patients/{id}/questionnaires/"))
    assert set(questionnaire["properties"]) == {"instrument", "window_days"}
    assert set(component(body("/api/v1/flags/{id}/assign/"))["properties"]) == {"assignee"}


@pytest.mark.django_db
def test_a_patient_query_parameter_is_an_id_in_range() -> None:
    """?patient=-5 is refused (400): the schema says an id starts at 1."""
    for path in ("/api/v1/checkins/{checkin_id}/", "/api/v1/attendance/summary/"):
        schema = parameter(path, "patient")
        assert (schema["minimum"], schema["maximum"]) == (1, 2**63 - 1), path
