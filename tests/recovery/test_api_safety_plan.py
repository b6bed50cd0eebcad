"""The safety plan: written together, versioned with who changed what, linked (not
copied) to exercises and contacts, cached by the app with an ETag, and first in the urge
button's answer."""

from __future__ import annotations

import pytest

from recovery.models import Exercise, SafetyPlanVersion
from tests.conftest import client_for
from tests.factories import ContactFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db

MINE = "/api/v1/me/safety-plan/"


def _section(body: dict, key: str) -> list[dict]:
    return next(s for s in body["sections"] if s["key"] == key)["items"]


def test_the_six_steps_come_in_order_then_reasons_and_high_risk(enrollment):
    body = client_for(enrollment.patient).get(MINE).json()
    assert [s["key"] for s in body["sections"]] == [
        "warning_signs",
        "internal_coping",
        "distraction",
        "ask_for_help",
        "professionals",
        "safe_environment",
        "reasons_for_living",
        "high_risk",
    ]
    assert body["version"] == 0


def test_patient_and_counselor_write_it_together_and_the_patient_sees_who_changed_what(
    enrollment, counselor
):
    patient = client_for(enrollment.patient)
    first = patient.put(
        MINE,
        {"base_version": 0, "sections": {"warning_signs": [{"text": "Skipping meals"}]}},
        format="json",
    )
    assert first.status_code == 200, first.content
    assert first.json()["version"] == 1
    staff_url = f"/api/v1/patients/{enrollment.id}/safety-plan/"
    second = client_for(counselor).put(
        staff_url,
        {
            "base_version": 1,
            "sections": {
                "high_risk": [{"text": "Payday Friday", "response": "Give my card to my sister"}]
            },
        },
        format="json",
    )
    assert second.status_code == 200, second.content
    plan = patient.get(MINE).json()
    assert _section(plan, "warning_signs")[0]["text"] == "Skipping meals"  # kept
    assert _section(plan, "high_risk")[0]["response"] == "Give my card to my sister"
    assert plan["updated_by"]["id"] == counselor.id

    history = patient.get(MINE + "history/").json()["versions"]
    assert [(h["version"], h["changed_by"]["id"]) for h in history] == [
        (2, counselor.id),
        (1, enrollment.patient.id),
    ]
    assert [s["key"] for s in history[0]["changed_sections"]] == ["high_risk"]
    assert [s["key"] for s in history[1]["changed_sections"]] == ["warning_signs"]


def test_a_save_over_a_newer_version_is_refused_and_changes_nothing(enrollment, counselor):
    patient = client_for(enrollment.patient)
    patient.put(
        MINE,
        {"base_version": 0, "sections": {"reasons_for_living": [{"text": "My kids"}]}},
        format="json",
    )
    stale = client_for(counselor).put(
        f"/api/v1/patients/{enrollment.id}/safety-plan/",
        {"base_version": 0, "sections": {"reasons_for_living": []}},
        format="json",
    )
    assert stale.status_code == 422
    assert _section(patient.get(MINE).json(), "reasons_for_living")[0]["text"] == "My kids"


def test_a_save_that_changes_nothing_adds_no_version(enrollment):
    patient = client_for(enrollment.patient)
    body = {"base_version": 0, "sections": {"warning_signs": [{"text": "Isolating"}]}}
    patient.put(MINE, body, format="json")
    again = patient.put(MINE, {**body, "base_version": 1}, format="json")
    assert again.json()["version"] == 1
    assert SafetyPlanVersion.objects.count() == 1


def test_items_link_to_exercises_and_contacts_as_they_are_now(enrollment):
    exercise = Exercise.objects.filter(program__isnull=True).first()
    contact = ContactFactory(enrollment=enrollment, phone="555-0100")
    patient = client_for(enrollment.patient)
    patient.put(
        MINE,
        {
            "base_version": 0,
            "sections": {
                "internal_coping": [{"exercise": exercise.id}],
                "ask_for_help": [{"contact": contact.id, "text": "Call first"}],
            },
        },
        format="json",
    )
    contact.phone = "555-0199"
    contact.save()
    plan = patient.get(MINE).json()
    assert _section(plan, "internal_coping")[0]["exercise"]["name"] == exercise.name
    assert _section(plan, "ask_for_help")[0]["contact"]["phone"] == "555-0199"


def test_links_to_someone_elses_contact_or_nothing_at_all_are_refused(enrollment, program):
    theirs = ContactFactory(enrollment=EnrollmentFactory(program=program))
    response = client_for(enrollment.patient).put(
        MINE,
        {
            "base_version": 0,
            "sections": {"ask_for_help": [{"contact": theirs.id}, {"text": "  "}]},
        },
        format="json",
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"ask_for_help.0.contact", "ask_for_help.1"}
    assert client_for(enrollment.patient).get(MINE).json()["version"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"base_version": 0, "sections": {"not_a_section": []}},
        {"base_version": 0, "sections": {"warning_signs": [{"text": "x" * 501}]}},
        {"base_version": 0, "sections": {"warning_signs": [{"text": "a"}] * 21}},
        {"sections": {}},
    ],
)
def test_bad_input_is_a_clear_400(enrollment, body):
    response = client_for(enrollment.patient).put(MINE, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]


def test_etag_revalidation_answers_304_until_the_plan_or_a_linked_contact_changes(enrollment):
    patient = client_for(enrollment.patient)
    contact = ContactFactory(enrollment=enrollment)
    patient.put(
        MINE,
        {"base_version": 0, "sections": {"ask_for_help": [{"contact": contact.id}]}},
        format="json",
    )
    first = patient.get(MINE)
    etag = first["ETag"]
    assert first.status_code == 200
    cached = patient.get(MINE, HTTP_IF_NONE_MATCH=etag)
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached["ETag"] == etag

    contact.phone = "555-0123"  # the plan shows the contact as it is now
    contact.save()
    changed = patient.get(MINE, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert patient.get(MINE, HTTP_IF_NONE_MATCH=f'"other", {changed["ETag"]}').status_code == 304


def test_the_urge_button_answers_with_the_plan_first(enrollment):
    patient = client_for(enrollment.patient)
    patient.put(
        MINE,
        {"base_version": 0, "sections": {"warning_signs": [{"text": "Pacing"}]}},
        format="json",
    )
    response = patient.post("/api/v1/urges/", {"intensity": 7}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert list(body) == [
        "safety_plan",
        "urge",
        "exercises",
        "support_contacts",
        "crisis_resources",
    ]
    assert _section(body["safety_plan"], "warning_signs")[0]["text"] == "Pacing"


@pytest.mark.parametrize("who", ["another_patient", "off_team_counselor", "other_program"])
def test_nobody_else_reaches_the_plan(enrollment, program, who):
    from tests.factories import CounselorFactory, ProgramFactory, SupervisorFactory

    outsider = {
        "another_patient": lambda: EnrollmentFactory(program=program).patient,
        "off_team_counselor": lambda: CounselorFactory(program=program),
        "other_program": lambda: SupervisorFactory(program=ProgramFactory()),
    }[who]()
    client = client_for(outsider)
    url = f"/api/v1/patients/{enrollment.id}/safety-plan/"
    assert client.get(url).status_code == 404
    assert client.get(url + "history/").status_code == 404
    put = client.put(url, {"base_version": 0, "sections": {}}, format="json")
    assert put.status_code == 404


def test_after_discharge_the_plan_is_read_only_but_still_readable(enrollment, counselor):
    from django.utils import timezone

    client_for(enrollment.patient).put(
        MINE,
        {"base_version": 0, "sections": {"warning_signs": [{"text": "Pacing"}]}},
        format="json",
    )
    enrollment.status = "discharged"
    enrollment.discharged_at = timezone.now()
    enrollment.save()
    staff_url = f"/api/v1/patients/{enrollment.id}/safety-plan/"
    body = {"base_version": 1, "sections": {"warning_signs": []}}
    assert client_for(counselor).put(staff_url, body, format="json").status_code == 403
    assert client_for(enrollment.patient).put(MINE, body, format="json").status_code == 403
    plan = client_for(enrollment.patient).get(MINE).json()
    assert _section(plan, "warning_signs")[0]["text"] == "Pacing"
