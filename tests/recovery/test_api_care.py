"""The patient's toolkit: exercises, favourites, practice, assignments, support contacts
and the urge button."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from recovery.models import (
    Consent,
    Enrollment,
    Exercise,
    ExerciseAssignment,
    FavoriteExercise,
    SupportContact,
    User,
)
from tests.conftest import client_for
from tests.factories import ContactFactory, CounselorFactory, EnrollmentFactory, ProgramFactory

pytestmark = pytest.mark.django_db


def library(n: int) -> list[Exercise]:
    return list(Exercise.objects.filter(program__isnull=True).order_by("id")[:n])


def program_exercise_body(**overrides: Any) -> dict[str, Any]:
    return {
        "slug": "clinic-walk",
        "name": "Clinic walk",
        "category": "behavioral",
        "summary": "Walk around the block before deciding anything.",
        "steps": ["Put on shoes.", "Walk for ten minutes.", "Rate the craving."],
        "duration_minutes": 10,
        **overrides,
    }


# --- the exercise library -------------------------------------------------------------


def test_the_library_has_at_least_twelve_seeded_exercises(patient_client: APIClient) -> None:
    body = patient_client.get("/api/v1/exercises/", {"page_size": 200}).json()
    assert body["count"] >= 12
    exercises = body["results"]
    assert len({e["category"] for e in exercises}) >= 4
    for exercise in exercises:
        assert exercise["steps"], exercise["slug"]
        assert 1 <= exercise["duration_minutes"] <= 120
        assert exercise["is_program_exercise"] is False
    names = [e["name"] for e in exercises]
    assert names == sorted(names)
    one = patient_client.get(f"/api/v1/exercises/{exercises[0]['id']}/").json()
    assert one == exercises[0]


def test_staff_add_program_exercises_only_their_program_sees(
    counselor_client: APIClient, patient_client: APIClient
) -> None:
    created = counselor_client.post("/api/v1/exercises/", program_exercise_body(), format="json")
    assert created.status_code == 201, created.content
    exercise = created.json()
    assert exercise["is_program_exercise"] is True
    ids = {
        e["id"] for e in patient_client.get("/api/v1/exercises/?page_size=200").json()["results"]
    }
    assert exercise["id"] in ids
    elsewhere = EnrollmentFactory(program=ProgramFactory())
    theirs = client_for(elsewhere.patient).get("/api/v1/exercises/?page_size=200").json()
    assert exercise["id"] not in {e["id"] for e in theirs["results"]}
    # A second one with the same slug in the same program is refused.
    again = counselor_client.post("/api/v1/exercises/", program_exercise_body(), format="json")
    assert again.status_code == 400
    assert "slug" in again.json()["error"]["fields"]
    # Another program may use the slug, and so may the shared library's slugs.
    other_staff = client_for(CounselorFactory(program=elsewhere.program))
    assert (
        other_staff.post("/api/v1/exercises/", program_exercise_body(), format="json").status_code
        == 201
    )
    same_as_library = program_exercise_body(slug="urge-surfing")
    assert (
        counselor_client.post("/api/v1/exercises/", same_as_library, format="json").status_code
        == 201
    )


# --- favourites -----------------------------------------------------------------------


def test_favourites_are_set_listed_and_removed(patient_client: APIClient) -> None:
    first, second = library(2)
    for exercise in (first, second, first):
        answer = patient_client.put(f"/api/v1/exercises/{exercise.id}/favorite/")
        assert answer.status_code == 200
        assert answer.json() == {"exercise": exercise.id, "favorite": True}
    listed = patient_client.get("/api/v1/me/favorites/").json()["results"]
    assert {e["id"] for e in listed} == {first.id, second.id}
    assert FavoriteExercise.objects.count() == 2

    removed = patient_client.delete(f"/api/v1/exercises/{first.id}/favorite/")
    assert removed.json() == {"exercise": first.id, "favorite": False}
    assert patient_client.delete(f"/api/v1/exercises/{first.id}/favorite/").status_code == 200
    listed = patient_client.get("/api/v1/me/favorites/").json()["results"]
    assert [e["id"] for e in listed] == [second.id]


def test_favouriting_an_unknown_exercise_is_404(patient_client: APIClient) -> None:
    assert patient_client.put("/api/v1/exercises/999999/favorite/").status_code == 404


# --- practice -------------------------------------------------------------------------


def test_practice_is_logged_and_read_by_patient_and_care_team(
    patient_client: APIClient, counselor_client: APIClient, enrollment: Enrollment
) -> None:
    exercise = library(1)[0]
    earlier = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)
    logged = patient_client.post(
        "/api/v1/practices/",
        {
            "exercise": exercise.id,
            "craving_before": 8,
            "craving_after": 3,
            "helpfulness": 5,
            "note": "it passed",
            "practiced_at": earlier.isoformat(),
        },
        format="json",
    )
    assert logged.status_code == 201, logged.content
    now_logged = patient_client.post(
        "/api/v1/practices/",
        {"exercise": exercise.id, "craving_before": 5, "craving_after": 5, "helpfulness": 2},
        format="json",
    ).json()
    assert now_logged["practiced_at"] is not None

    mine = patient_client.get("/api/v1/practices/").json()
    assert mine["count"] == 2
    assert mine["results"][0]["id"] == now_logged["id"]  # newest first
    staff = counselor_client.get("/api/v1/practices/", {"patient": enrollment.id}).json()
    assert staff["count"] == 2
    older = staff["results"][1]
    assert older["note"] == "it passed"
    assert older["craving_before"] - older["craving_after"] == 5
    ranged = counselor_client.get(
        "/api/v1/practices/", {"until": (earlier + timedelta(minutes=1)).isoformat()}
    ).json()
    assert ranged["count"] == 1


def test_a_practice_with_several_problems_names_them_all_in_one_answer(
    patient_client: APIClient,
) -> None:
    response = patient_client.post(
        "/api/v1/practices/",
        {
            "exercise": library(1)[0].id,
            "craving_before": 11,  # the field's own range
            "craving_after": 3,
            "helpfulness": 5,
            "practiced_at": (timezone.now() + timedelta(hours=1)).isoformat(),  # the service's
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"craving_before", "practiced_at"}


# --- assignments ----------------------------------------------------------------------


def test_counselor_assigns_exercises_the_patient_sees(
    patient_client: APIClient, counselor_client: APIClient, enrollment: Enrollment, counselor: User
) -> None:
    exercise = library(3)[2]
    made = counselor_client.post(
        "/api/v1/assignments/",
        {"patient": enrollment.id, "exercise": exercise.id, "note": "every evening"},
        format="json",
    )
    assert made.status_code == 201, made.content
    assignment = made.json()
    assert assignment["assigned_by"] == counselor.id
    assert assignment["patient"] == enrollment.id

    seen = patient_client.get("/api/v1/assignments/").json()["results"]
    assert [(a["exercise"], a["note"]) for a in seen] == [(exercise.id, "every evening")]

    # Assigning again changes the note; it does not duplicate.
    again = counselor_client.post(
        "/api/v1/assignments/",
        {"patient": enrollment.id, "exercise": exercise.id, "note": "mornings too"},
        format="json",
    )
    assert again.status_code == 201
    assert ExerciseAssignment.objects.count() == 1
    assert patient_client.get(f"/api/v1/assignments/{assignment['id']}/").json()["note"] == (
        "mornings too"
    )

    assert counselor_client.delete(f"/api/v1/assignments/{assignment['id']}/").status_code == 204
    assert patient_client.get("/api/v1/assignments/").json()["results"] == []


def test_patients_cannot_assign_or_unassign(
    patient_client: APIClient, enrollment: Enrollment, counselor: User
) -> None:
    exercise = library(1)[0]
    refused = patient_client.post(
        "/api/v1/assignments/", {"patient": enrollment.id, "exercise": exercise.id}, format="json"
    )
    assert refused.status_code == 403
    assignment = ExerciseAssignment.objects.create(
        enrollment=enrollment, exercise=exercise, assigned_by=counselor
    )
    assert patient_client.delete(f"/api/v1/assignments/{assignment.id}/").status_code == 403
    assert ExerciseAssignment.objects.filter(id=assignment.id).exists()


# --- support contacts -----------------------------------------------------------------


def contact(**overrides: Any) -> dict[str, Any]:
    return {"name": "Sam", "relationship": "sponsor", "phone": "+1 (555) 010-1000", **overrides}


def test_support_contacts_crud_in_the_patients_order(
    patient_client: APIClient, counselor_client: APIClient, enrollment: Enrollment
) -> None:
    sam = patient_client.post("/api/v1/contacts/", contact(), format="json").json()
    mum = patient_client.post(
        "/api/v1/contacts/",
        contact(name="Mum", relationship="family", phone="", email="mum@example.org"),
        format="json",
    ).json()
    assert (sam["position"], mum["position"]) == (0, 1)

    listed = patient_client.get("/api/v1/contacts/").json()["results"]
    assert [c["name"] for c in listed] == ["Sam", "Mum"]

    changed = patient_client.patch(
        f"/api/v1/contacts/{sam['id']}/", {"reachable_hours": "evenings"}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["reachable_hours"] == "evenings"
    assert changed.json()["phone"] == "+1 (555) 010-1000"

    # Staff read the list (for the safety plan) but do not edit it.
    staff = counselor_client.get("/api/v1/contacts/", {"patient": enrollment.id}).json()["results"]
    assert [c["name"] for c in staff] == ["Sam", "Mum"]
    assert (
        counselor_client.patch(
            f"/api/v1/contacts/{sam['id']}/", {"name": "X"}, format="json"
        ).status_code
        == 403
    )

    assert patient_client.delete(f"/api/v1/contacts/{sam['id']}/").status_code == 204
    assert [c["name"] for c in patient_client.get("/api/v1/contacts/").json()["results"]] == ["Mum"]
    assert patient_client.get(f"/api/v1/contacts/{sam['id']}/").status_code == 404


def test_reorder_sets_the_order_everywhere(
    patient_client: APIClient, enrollment: Enrollment
) -> None:
    a, b, c = (ContactFactory(enrollment=enrollment, name=n) for n in ("A", "B", "C"))
    answer = patient_client.post(
        "/api/v1/contacts/reorder/", {"ids": [c.id, a.id, b.id]}, format="json"
    )
    assert answer.status_code == 200
    assert [x["name"] for x in answer.json()] == ["C", "A", "B"]
    assert [x["position"] for x in answer.json()] == [0, 1, 2]
    listed = patient_client.get("/api/v1/contacts/").json()["results"]
    assert [x["name"] for x in listed] == ["C", "A", "B"]
    support = patient_client.get("/api/v1/me/support/").json()
    assert [x["name"] for x in support["support_contacts"]] == ["C", "A", "B"]
    # Naming only some of the contacts is refused, and changes nothing.
    partial = patient_client.post("/api/v1/contacts/reorder/", {"ids": [a.id]}, format="json")
    assert partial.status_code == 400
    assert "ids" in partial.json()["error"]["fields"]
    assert list(
        SupportContact.objects.filter(enrollment=enrollment).values_list("name", flat=True)
    ) == ["C", "A", "B"]


def test_me_support_returns_crisis_resources_beside_the_contacts(
    patient_client: APIClient, enrollment: Enrollment
) -> None:
    empty = patient_client.get("/api/v1/me/support/").json()
    assert empty["support_contacts"] == []
    assert any(r["phone"] == "988" for r in empty["crisis_resources"])
    ContactFactory(enrollment=enrollment, name="Sponsor")
    full = patient_client.get("/api/v1/me/support/").json()
    assert [c["name"] for c in full["support_contacts"]] == ["Sponsor"]
    assert full["crisis_resources"] == empty["crisis_resources"]


def test_at_most_fifty_contacts(patient_client: APIClient, enrollment: Enrollment) -> None:
    ContactFactory.create_batch(50, enrollment=enrollment)
    refused = patient_client.post("/api/v1/contacts/", contact(), format="json")
    assert refused.status_code == 400
    assert SupportContact.objects.filter(enrollment=enrollment).count() == 50


def test_a_contact_over_the_limit_with_a_bad_field_names_both_in_one_answer(
    patient_client: APIClient, enrollment: Enrollment
) -> None:
    ContactFactory.create_batch(50, enrollment=enrollment)
    refused = patient_client.post(
        "/api/v1/contacts/", contact(relationship="nemesis"), format="json"
    )
    assert refused.status_code == 400
    # The field's own choices, and the service's limit of fifty.
    assert set(refused.json()["error"]["fields"]) == {"relationship", "non_field_errors"}


def test_an_exercise_with_a_taken_slug_and_a_bad_field_names_both_in_one_answer(
    counselor_client: APIClient,
) -> None:
    counselor_client.post("/api/v1/exercises/", program_exercise_body(), format="json")
    again = counselor_client.post(
        "/api/v1/exercises/", program_exercise_body(duration_minutes="long"), format="json"
    )
    assert again.status_code == 400
    assert set(again.json()["error"]["fields"]) == {"slug", "duration_minutes"}


# --- the urge button ------------------------------------------------------------------


def test_the_urge_button_answers_with_everything_that_helps(
    patient_client: APIClient, enrollment: Enrollment, counselor: User
) -> None:
    fav_old, fav_new, assigned_only, both = library(4)
    for exercise in (fav_old, fav_new, both):
        FavoriteExercise.objects.create(enrollment=enrollment, exercise=exercise)
    for exercise in (assigned_only, both):
        ExerciseAssignment.objects.create(
            enrollment=enrollment, exercise=exercise, assigned_by=counselor
        )
    second = ContactFactory(enrollment=enrollment, name="Second", position=5)
    first = ContactFactory(enrollment=enrollment, name="First", position=1)

    answer = patient_client.post("/api/v1/urges/", {"intensity": 7}, format="json")
    assert answer.status_code == 201
    body = answer.json()
    assert body["urge"]["intensity"] == 7
    cards = [(e["id"], e["reason"]) for e in body["exercises"]]
    # Favourites first (in the order they were chosen), then assignments not already there.
    assert cards == [
        (fav_old.id, "favorite"),
        (fav_new.id, "favorite"),
        (both.id, "favorite"),
        (assigned_only.id, "assigned"),
    ]
    assert all(e["steps"] for e in body["exercises"])
    assert [c["id"] for c in body["support_contacts"]] == [first.id, second.id]
    assert any(r["phone"] == "988" for r in body["crisis_resources"])


def test_the_urge_button_still_helps_with_an_empty_toolkit(patient_client: APIClient) -> None:
    body = patient_client.post("/api/v1/urges/", {}, format="json").json()
    # No favourites, no assignments: the library's first-line skills, never nothing.
    first_line = [(e["name"], e["reason"]) for e in body["exercises"]]
    assert first_line == [
        ("Urge surfing", "first_line"),
        ("Box breathing", "first_line"),
        ("5-4-3-2-1 grounding", "first_line"),
        ("HALT check", "first_line"),
    ]
    assert all(e["steps"] for e in body["exercises"])
    assert body["support_contacts"] == []
    assert body["crisis_resources"]


def test_a_contact_a_consent_names_stays_with_a_clear_answer(
    patient_client: APIClient, enrollment: Enrollment
) -> None:
    sponsor = cast(SupportContact, ContactFactory(enrollment=enrollment))
    Consent.objects.create(
        enrollment=enrollment,
        disclosing_party="The program",
        recipient=sponsor,
        events=["checkin_missed"],
        purpose="Support",
        expires_at=timezone.now() + timedelta(days=30),
        revocation_acknowledged=True,
        signature="Pat Patient",
        signed_at=timezone.now(),
    )

    response = patient_client.delete(f"/api/v1/contacts/{sponsor.id}/")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["consents"]
    assert SupportContact.objects.filter(id=sponsor.id).exists()


@pytest.mark.parametrize("parameter", ["since", "until"])
def test_an_empty_date_filter_is_refused_naming_it(
    patient_client: APIClient, parameter: str
) -> None:
    response = patient_client.get(f"/api/v1/contacts/?{parameter}=")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [parameter]
