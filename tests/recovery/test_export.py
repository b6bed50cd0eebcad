"""A patient exports their own data, as JSON and as a FHIR R4 Bundle."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from recovery.models import AuditEntry
from recovery.services.checkins import checkin_submit
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_checkins(enrollment):
    for craving in (3, 7):
        checkin_submit(
            enrollment=enrollment,
            client_id=uuid.uuid4(),
            data={
                "mood": 3,
                "craving": craving,
                "used_substance": False,
                "triggers": ["stress"],
                "device_time": timezone.now(),
                "device_timezone": "UTC",
                "note": "long day",
            },
        )
    return enrollment


def test_json_export_holds_the_patients_records(with_checkins):
    response = client_for(with_checkins.patient).get("/api/v1/me/export/")
    assert response.status_code == 200
    body = response.json()
    assert [c["craving"] for c in body["checkins"]] == [3, 7]
    assert body["checkins"][0]["note"] == "long day"
    assert AuditEntry.objects.filter(action="export").count() == 1


def test_fhir_export_is_a_valid_bundle_of_questionnaire_responses(with_checkins):
    body = client_for(with_checkins.patient).get("/api/v1/me/export/fhir/").json()
    bundle = Bundle.model_validate(body)
    assert bundle.type == "collection"
    resources = [entry.resource for entry in bundle.entry]
    assert {r.__resource_type__ for r in resources} == {"QuestionnaireResponse"}
    cravings = [
        item.answer[0].valueInteger
        for r in resources
        for item in r.item
        if item.linkId == "craving"
    ]
    assert cravings == [3, 7]


def test_staff_cannot_use_the_patient_export(counselor):
    assert client_for(counselor).get("/api/v1/me/export/").status_code == 403
