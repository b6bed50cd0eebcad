"""Questionnaires in the FHIR export: each instrument used as a Questionnaire, each
response as a QuestionnaireResponse, and each total as an Observation derived from its
response, coded with LOINC where the instrument has a code. Every resource is validated
with the fhir.resources models before it leaves."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse as FhirResponse

from recovery.models import Enrollment, QuestionnaireResponse
from recovery.questionnaires import Definition
from recovery.selectors.questionnaires import instrument_definition

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def canonical(definition: Definition) -> str:
    return f"urn:iop-backend:questionnaire:{definition['code']}:{definition['version']}"


def _fhir_id(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "-" for c in text)[:64]


def _loinc(code: str | None) -> list[dict[str, str]]:
    return [{"system": LOINC, "code": code}] if code else []


def _enable_when(item: dict[str, Any], definition: Definition) -> dict[str, Any]:
    condition = item.get("enable_when")
    if condition is None:
        return {}
    other = next(i for i in definition["items"] if i["id"] == condition["item"])
    if other.get("kind") == "number":
        operator = ">" if condition["op"] == "gt" else "="
        return {
            "enableWhen": [
                {"question": other["id"], "operator": operator, "answerInteger": condition["value"]}
            ]
        }
    opening = [
        o["code"]
        for o in definition["option_sets"][other["options"]]
        if o["score"] == condition["value"]
        or (condition["op"] == "gt" and o["score"] > condition["value"])
    ]
    return {
        "enableWhen": [
            {"question": other["id"], "operator": "=", "answerCoding": {"code": code}}
            for code in opening
        ],
        "enableBehavior": "any",
    }


def questionnaire_resource(definition: Definition) -> dict[str, Any]:
    lang = definition["languages"][0]
    items = []
    for item in definition["items"]:
        entry: dict[str, Any] = {
            "linkId": item["id"],
            "text": item["text"][lang],
            "required": "enable_when" not in item,
            **_enable_when(item, definition),
        }
        if item.get("loinc"):
            entry["code"] = _loinc(item["loinc"])
        if item.get("kind") == "number":
            entry["type"] = "integer"
        else:
            entry["type"] = "choice"
            entry["answerOption"] = [
                {"valueCoding": {"code": o["code"], "display": o["text"][lang]}}
                for o in definition["option_sets"][item["options"]]
            ]
        items.append(entry)
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": _fhir_id(f"{definition['code']}-{definition['version']}"),
        "url": canonical(definition),
        "version": definition["version"],
        "title": definition["title"][lang],
        "status": "active",
        "copyright": definition["terms"],
        "description": definition["source"],
        "item": items,
    }
    panel = (definition.get("loinc") or {}).get("panel")
    if panel:
        resource["code"] = _loinc(panel)
    Questionnaire.model_validate(resource)
    return resource


def response_resource(response: QuestionnaireResponse, definition: Definition) -> dict[str, Any]:
    lang = response.language if response.language in definition["languages"] else "en"
    by_id = {item["id"]: item for item in definition["items"]}
    items = []
    for item_id, answer in response.answers.items():
        item = by_id.get(item_id)
        if item is None:
            continue
        if item.get("kind") == "number":
            value: dict[str, Any] = {"valueInteger": answer}
        else:
            option = next(
                o for o in definition["option_sets"][item["options"]] if o["code"] == answer
            )
            text = option["text"].get(lang) or option["text"][definition["languages"][0]]
            value = {"valueCoding": {"code": answer, "display": text}}
        items.append({"linkId": item_id, "answer": [value]})
    resource = {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.client_id),
        "questionnaire": canonical(definition),
        "status": "completed",
        "authored": response.device_time.isoformat(),
        "item": items,
    }
    FhirResponse.model_validate(resource)
    return resource


def total_observation(response: QuestionnaireResponse, definition: Definition) -> dict[str, Any]:
    lang = definition["languages"][0]
    total_code = (definition.get("loinc") or {}).get("total")
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _fhir_id(f"score-{response.client_id}"),
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "survey"}]}],
        "code": {"coding": _loinc(total_code), "text": f"{definition['title'][lang]}: score"},
        "effectiveDateTime": response.device_time.isoformat(),
        "valueQuantity": {"value": response.total, "system": UCUM, "code": "{score}"},
        "derivedFrom": [{"reference": f"urn:uuid:{response.client_id}"}],
    }
    if response.band:
        resource["interpretation"] = [{"text": response.band}]
    if len(response.scales) > 1:
        resource["component"] = [
            {
                "code": {"text": name},
                "valueQuantity": {"value": value, "system": UCUM, "code": "{score}"},
            }
            for name, value in sorted(response.scales.items())
        ]
    if not resource["code"]["coding"]:
        del resource["code"]["coding"]
    Observation.model_validate(resource)
    return resource


def questionnaire_entries(*, enrollment: Enrollment) -> list[dict[str, Any]]:
    """Bundle entries for the patient's questionnaires, instruments first."""
    instruments: dict[str, Definition] = {}
    entries: list[dict[str, Any]] = []
    for response in enrollment.questionnaire_responses.order_by("device_time", "id"):
        definition = instrument_definition(
            program_id=enrollment.program_id, code=response.instrument
        )
        if definition is None:
            continue
        instruments.setdefault(canonical(definition), definition)
        entries.append(
            {
                "fullUrl": f"urn:uuid:{response.client_id}",
                "resource": response_resource(response, definition),
            }
        )
        observation = total_observation(response, definition)
        entries.append(
            {"fullUrl": f"urn:iop-backend:observation:{observation['id']}", "resource": observation}
        )
    questionnaires = [
        {"fullUrl": url, "resource": questionnaire_resource(d)} for url, d in instruments.items()
    ]
    return questionnaires + entries
