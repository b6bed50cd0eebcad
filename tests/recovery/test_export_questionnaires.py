"""The FHIR export carries the standardized questionnaires: each instrument as a
Questionnaire (LOINC-coded where it has a code), each response as a QuestionnaireResponse,
each total as an Observation derived from its response."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from recovery.models import Enrollment
from recovery.services.questionnaires import questionnaire_submit
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def answer(enrollment: Enrollment, instrument: str, answers: dict[str, Any], ago: int) -> None:
    questionnaire_submit(
        enrollment=enrollment,
        client_id=uuid.uuid4(),
        instrument=instrument,
        answers=answers,
        device_time=timezone.now() - timedelta(days=ago),
        device_timezone="UTC",
    )


def test_the_fhir_bundle_carries_questionnaires_responses_and_derived_scores(
    enrollment: Enrollment,
) -> None:
    phq9 = {str(i): "2" for i in range(1, 9)} | {"9": "0"}
    answer(enrollment, "phq9", phq9, ago=7)
    answer(enrollment, "phq9", {**phq9, "1": "0"}, ago=0)
    bam: dict[str, Any] = {str(i): "0" for i in (1, 2, 3, 8, 9, 10, 11, 12, 13, 15, 16, 17)}
    answer(
        enrollment,
        "bam",
        {**bam, "4": 3, "5": 1, "6": 2, "14": "no"} | {f"7{c}": 0 for c in "ABCDEFG"},
        ago=1,
    )

    body = client_for(enrollment.patient).get("/api/v1/me/export/fhir/").json()
    bundle = Bundle.model_validate(body)
    by_type: dict[str, list[Any]] = {}
    for entry in bundle.entry:
        by_type.setdefault(entry.resource.__resource_type__, []).append(entry)

    questionnaires = {e.resource.url: e.resource for e in by_type["Questionnaire"]}
    phq9_q = questionnaires["urn:iop-backend:questionnaire:phq9:2001"]
    assert phq9_q.code[0].code == "44249-1"
    assert phq9_q.item[8].code[0].code == "44260-8"
    bam_q = questionnaires["urn:iop-backend:questionnaire:bam:2011"]
    drug_days = next(i for i in bam_q.item if i.linkId == "7A")
    assert (drug_days.enableWhen[0].question, drug_days.enableWhen[0].operator) == ("6", ">")

    responses = {e.fullUrl: e.resource for e in by_type["QuestionnaireResponse"]}
    assert len(responses) == 3
    observations = [e.resource for e in by_type["Observation"]]
    phq9_scores = [o for o in observations if o.code.coding and o.code.coding[0].code == "44261-6"]
    assert sorted(o.valueQuantity.value for o in phq9_scores) == [14, 16]
    for observation in observations:
        (source,) = observation.derivedFrom
        assert source.reference in responses
    bam_score = next(o for o in observations if not o.code.coding)
    assert bam_score.valueQuantity.value == 6
    assert {c.code.text: c.valueQuantity.value for c in bam_score.component} == {
        "protective": 0,
        "risk": 0,
        "use": 6,
    }
