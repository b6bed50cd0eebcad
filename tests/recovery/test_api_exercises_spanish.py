"""The exercise library in the patient's language: Spanish for a patient who chose it
(whatever the device says), Accept-Language for those with no profile language, and a
program's own exercise, written once, shown as written to everyone."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from recovery.exercise_library import FIRST_LINE_SLUGS, SPANISH
from recovery.models import Enrollment, Exercise, FavoriteExercise
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

CLINIC_WALK = {
    "slug": "clinic-walk",
    "name": "Clinic walk",
    "category": "behavioral",
    "summary": "Walk around the block before deciding anything.",
    "steps": ["Put on shoes.", "Walk for ten minutes."],
    "duration_minutes": 10,
}


def _spanish_patient(enrollment: Enrollment) -> APIClient:
    client = client_for(enrollment.patient)
    # The profile setting, as the app sets it.
    assert client.patch("/api/v1/me/", {"language": "es"}, format="json").status_code == 200
    return client


def _by_slug(client: APIClient, **headers: Any) -> dict[str, dict[str, Any]]:
    body = client.get("/api/v1/exercises/", {"page_size": 200}, **headers).json()
    return {e["slug"]: e for e in body["results"]}


def test_a_spanish_patient_reads_the_library_in_spanish_on_an_english_device(
    enrollment: Enrollment,
) -> None:
    exercises = _by_slug(_spanish_patient(enrollment), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    surfing = exercises["urge-surfing"]
    assert surfing["name"] == "Surfear las ganas"
    assert surfing["summary"] == SPANISH["urge-surfing"]["summary"]
    assert surfing["steps"][0].startswith("Siéntate cómodamente")
    assert surfing["evidence"].startswith("Prevención de recaídas")
    assert {slug: e["name"] for slug, e in exercises.items()} == {
        slug: texts["name"] for slug, texts in SPANISH.items()
    }
    names = [e["name"] for e in exercises.values()]
    assert names == sorted(names)  # by the Spanish name the patient reads


def test_an_english_patient_reads_english_on_a_spanish_device(enrollment: Enrollment) -> None:
    exercises = _by_slug(client_for(enrollment.patient), HTTP_ACCEPT_LANGUAGE="es-US,es;q=0.9")
    assert exercises["urge-surfing"]["name"] == "Urge surfing"
    assert exercises["box-breathing"]["steps"][0] == "Breathe in through the nose for 4 counts."


def test_staff_without_a_profile_language_read_what_accept_language_asks(
    counselor_client: APIClient,
) -> None:
    assert _by_slug(counselor_client)["halt-check"]["name"] == "HALT check"
    spanish = _by_slug(counselor_client, HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9,en;q=0.5")
    assert spanish["halt-check"]["name"] == "Revisión HALT"


def test_the_urge_button_offers_spanish_skills_to_a_spanish_patient(
    enrollment: Enrollment,
) -> None:
    client = _spanish_patient(enrollment)
    body = client.post("/api/v1/urges/", {"intensity": 8}, format="json").json()
    assert [e["name"] for e in body["exercises"]] == [
        SPANISH[slug]["name"] for slug in FIRST_LINE_SLUGS
    ]
    assert body["exercises"][1]["steps"][0] == "Inhala por la nariz contando hasta 4."


def test_a_program_exercise_with_no_spanish_reads_as_written_in_spanish(
    enrollment: Enrollment, counselor: Any
) -> None:
    # A counselor whose browser asks for Spanish writes in English: it is stored once, as
    # the text every language falls back to.
    staff = client_for(counselor)
    created = staff.post(
        "/api/v1/exercises/", CLINIC_WALK, format="json", HTTP_ACCEPT_LANGUAGE="es"
    )
    assert created.status_code == 201, created.content
    assert created.json()["name"] == "Clinic walk"
    client = _spanish_patient(enrollment)
    walk = _by_slug(client)["clinic-walk"]
    assert (walk["name"], walk["steps"]) == ("Clinic walk", CLINIC_WALK["steps"])
    assert _by_slug(client_for(counselor))["clinic-walk"]["summary"] == CLINIC_WALK["summary"]
    # And among the favourites the urge button offers, next to a Spanish library skill.
    FavoriteExercise.objects.create(enrollment=enrollment, exercise_id=walk["id"])
    FavoriteExercise.objects.create(
        enrollment=enrollment, exercise=Exercise.objects.get(program=None, slug="halt-check")
    )
    body = client.post("/api/v1/urges/", {}, format="json").json()
    assert [e["name"] for e in body["exercises"]] == ["Clinic walk", "Revisión HALT"]


def test_spanish_costs_no_query_more_than_english(enrollment: Enrollment) -> None:
    english = client_for(enrollment.patient)
    english.get("/api/v1/exercises/")  # warm: first-request work is not the language's
    with CaptureQueriesContext(connection) as in_english:
        english.post("/api/v1/urges/", {}, format="json")
        english.get("/api/v1/exercises/")
    spanish = _spanish_patient(enrollment)
    with CaptureQueriesContext(connection) as in_spanish:
        spanish.post("/api/v1/urges/", {}, format="json")
        spanish.get("/api/v1/exercises/")
    assert len(in_spanish) == len(in_english)


def test_the_admin_edits_both_languages_of_an_exercise(admin_client: Any) -> None:
    halt = Exercise.objects.get(program=None, slug="halt-check")
    page = admin_client.get(f"/admin/recovery/exercise/{halt.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="name_en"' in html
    assert 'name="name_es"' in html
    assert "Revisión HALT" in html
