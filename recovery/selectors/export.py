"""The patient's own data, for export (right of access)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from recovery.models import Enrollment
from recovery.selectors.care import contact_card
from recovery.selectors.fhir_questionnaires import questionnaire_entries

QUESTIONNAIRE = "urn:iop-backend:questionnaire:daily-checkin:v1"


def export_json(*, enrollment: Enrollment) -> dict[str, Any]:
    patient = enrollment.patient

    def rows(qs: Any, *fields: str) -> list[dict[str, Any]]:
        return [{f: getattr(obj, f) for f in fields} for obj in qs]

    return {
        "exported_at": timezone.now(),
        "patient": {
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "username": patient.username,
        },
        "enrollment": {
            "program": enrollment.program.name,
            "level_of_care": enrollment.level_of_care,
            "stage": enrollment.stage,
            "status": enrollment.status,
            "start_date": enrollment.start_date,
            "expected_end_date": enrollment.expected_end_date,
            "timezone": enrollment.timezone,
            "history": rows(
                enrollment.changes.all(), "field", "old_value", "new_value", "reason", "changed_at"
            ),
        },
        "checkins": rows(
            enrollment.checkins.order_by("device_time"),
            "client_id",
            "mood",
            "craving",
            "used_substance",
            "substances",
            "triggers",
            "trigger_other",
            "hours_slept",
            "medication_taken",
            "self_harm_thoughts",
            "note",
            "device_time",
            "device_timezone",
            "received_at",
            "is_late",
        ),
        "urges": rows(enrollment.urges.order_by("occurred_at"), "intensity", "note", "occurred_at"),
        "exercise_practice": [
            {
                "exercise": p.exercise.name,
                "craving_before": p.craving_before,
                "craving_after": p.craving_after,
                "helpfulness": p.helpfulness,
                "note": p.note,
                "practiced_at": p.practiced_at,
            }
            for p in enrollment.exercise_practices.select_related("exercise")
        ],
        "support_contacts": [contact_card(c) for c in enrollment.support_contacts.all()],
        "attendance": [
            {
                "session": a.session.title,
                "kind": a.session.kind,
                "starts_at": a.session.starts_at,
                "status": a.status,
                "minutes_attended": a.minutes_attended,
            }
            for a in enrollment.attendance.select_related("session")
        ],
        "consents": rows(
            enrollment.consents.all(),
            "id",
            "events",
            "purpose",
            "expires_at",
            "signed_at",
            "revoked_at",
        ),
        "disclosures": rows(
            enrollment.disclosures.all(), "event", "state", "created_at", "sent_at"
        ),
    }


def _item(link_id: str, text: str, answer: dict[str, Any] | None) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": link_id, "text": text}
    if answer is not None:
        item["answer"] = [answer]
    return item


def export_fhir_bundle(*, enrollment: Enrollment) -> dict[str, Any]:
    """Check-ins as FHIR R4 QuestionnaireResponse resources in a collection Bundle, with
    the standardized questionnaires (Questionnaire, QuestionnaireResponse, and each total
    as an Observation derived from its response), validated by the fhir.resources models
    before they leave."""
    entries = []
    for checkin in enrollment.checkins.order_by("device_time"):
        items = [
            _item("mood", "Mood (1 to 5)", {"valueInteger": checkin.mood}),
            _item("craving", "Craving (0 to 10)", {"valueInteger": checkin.craving}),
            _item(
                "used_substance",
                "Used since the last check-in",
                {"valueBoolean": checkin.used_substance},
            ),
        ]
        items += [_item("substance", "Substance", {"valueString": s}) for s in checkin.substances]
        items += [_item("trigger", "Trigger", {"valueString": t}) for t in checkin.triggers]
        if checkin.hours_slept is not None:
            items.append(
                _item("hours_slept", "Hours slept", {"valueDecimal": float(checkin.hours_slept)})
            )
        if checkin.medication_taken is not None:
            items.append(
                _item(
                    "medication_taken",
                    "Medication taken",
                    {"valueBoolean": checkin.medication_taken},
                )
            )
        if checkin.self_harm_thoughts is not None:
            items.append(
                _item(
                    "self_harm_thoughts",
                    "Thoughts of self-harm",
                    {"valueBoolean": checkin.self_harm_thoughts},
                )
            )
        if checkin.note:
            items.append(_item("note", "Note", {"valueString": checkin.note}))
        entries.append(
            {
                "fullUrl": f"urn:uuid:{checkin.client_id}",
                "resource": {
                    "resourceType": "QuestionnaireResponse",
                    "id": str(checkin.client_id),
                    "questionnaire": QUESTIONNAIRE,
                    "status": "completed",
                    "authored": checkin.device_time.isoformat(),
                    "item": items,
                },
            }
        )
    entries += questionnaire_entries(enrollment=enrollment)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": timezone.now().isoformat(),
        "entry": entries,
    }
    Bundle.model_validate(bundle)  # raises if the export would not be valid FHIR
    return bundle
