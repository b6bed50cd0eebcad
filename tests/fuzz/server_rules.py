"""Rules the server enforces that an OpenAPI schema cannot state: a row that must exist,
a state the record must be in, a rule between fields, a rule that depends on who asks or
on today. A schema-valid request broken only by one of them is rightly refused, so the
strict check "valid request rejected" (positive_data_acceptance) does not count it.

Schemathesis's own switch for this is per operation (`[[operations]]` with
`checks.positive_data_acceptance.expected-statuses`), which would accept any 400 of the
operation. This is narrower: a refusal passes only when every field it names is listed
here for that operation (a 422 only with a listed error code), so a 400 for any other
field still fails the run. What a schema can say (date ranges, time zone names, decimal
strings, lengths) is in the schema instead (backend.openapi.bound_inputs).
"""

from __future__ import annotations

from typing import Any

from schemathesis.openapi.checks import RejectedPositiveData

from recovery.models import PlanSection

EXISTS = "must name an existing row the caller may use"
STATE = "depends on the record's state"
BETWEEN = "a rule between fields"
WHO = "depends on who asks"
TODAY = "depends on today or the program's dates"

SAFETY_PLAN_SECTIONS = tuple(PlanSection.values)
PLAN_STEP = "a text, or an exercise or contact of the patient's own"

# (METHOD, path) -> {field named in the 400 (a prefix covers its items): why}.
SERVER_RULES: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/api/v1/assignments/"): {"exercise": EXISTS, "patient": EXISTS},
    ("GET", "/api/v1/attendance/summary/"): {"patient": WHO},
    ("POST", "/api/v1/auth/enrollment-code/"): {"code": EXISTS},
    ("POST", "/api/v1/auth/totp/confirm/"): {"otp": "a code of the authenticator app"},
    ("POST", "/api/v1/checkins/"): {
        "device_time": TODAY,
        "substances": BETWEEN,
        "medication_taken": STATE,
    },
    ("POST", "/api/v1/consents/"): {
        "recipient": EXISTS,
        "events": BETWEEN,
        "expires_at": TODAY,
        "revocation_acknowledged": "must be confirmed",
        "signature": "the patient's full name",
    },
    ("POST", "/api/v1/contacts/"): {
        "phone": "a phone or an email; digits, spaces and + - ( ), at least three digits",
        "non_field_errors": "at most fifty contacts",
    },
    ("PATCH", "/api/v1/contacts/{id}/"): {
        "phone": "a phone or an email; digits, spaces and + - ( ), at least three digits",
    },
    ("DELETE", "/api/v1/contacts/{id}/"): {"consents": "a consent's recipient stays on record"},
    ("POST", "/api/v1/contacts/reorder/"): {"ids": "every one of the patient's contacts once"},
    ("POST", "/api/v1/exercises/"): {"slug": "unique in the program"},
    ("POST", "/api/v1/flags/{id}/assign/"): {"assignee": EXISTS},
    ("POST", "/api/v1/flags/{id}/acknowledge/"): {"status": STATE},
    ("POST", "/api/v1/flags/{id}/reopen/"): {"status": STATE},
    ("POST", "/api/v1/flags/{id}/resolve/"): {"status": STATE},
    ("POST", "/api/v1/goals/{id}/progress/"): {"on_date": TODAY, "value": STATE},
    ("POST", "/api/v1/goals/{id}/status/"): {"status": STATE},
    ("POST", "/api/v1/goals/{id}/revise/"): {
        "status": STATE,
        "non_field_errors": "a revision changes the description, target or date",
    },
    ("POST", "/api/v1/incentive-protocols/"): {
        "streak_days": BETWEEN,
        "start": BETWEEN,
        "maximum": BETWEEN,
        "bowl": BETWEEN,
        "non_field_errors": BETWEEN,
        "substance": BETWEEN,
    },
    ("PUT", "/api/v1/me/checkin-schedule/"): {"due_by": BETWEEN},
    ("PUT", "/api/v1/monitoring-settings/"): {
        "suggestion_min_checkin_adherence": "a decimal's minimum",
    },
    ("POST", "/api/v1/me/conversation/read/"): {"up_to": EXISTS},
    ("PUT", "/api/v1/me/safety-plan/"): {
        "version_conflict": STATE,
        "version": STATE,
        **dict.fromkeys(SAFETY_PLAN_SECTIONS, PLAN_STEP),
    },
    ("PUT", "/api/v1/patients/{id}/safety-plan/"): {
        "version_conflict": STATE,
        "version": STATE,
        **dict.fromkeys(SAFETY_PLAN_SECTIONS, PLAN_STEP),
    },
    ("POST", "/api/v1/medications/"): {"end_date": BETWEEN},
    ("PATCH", "/api/v1/medications/{id}/"): {
        "end_date": BETWEEN,
        "dose": WHO,
        "name": WHO,
        "prescriber": WHO,
    },
    ("GET", "/api/v1/medications/adherence/"): {"patient": WHO},
    ("POST", "/api/v1/meetings/"): {"attended_on": TODAY, "fellowship_other": BETWEEN},
    ("GET", "/api/v1/meetings/weekly/"): {"patient": WHO},
    ("PUT", "/api/v1/notifications/preferences/"): {"quiet_start": BETWEEN, "quiet_end": BETWEEN},
    ("POST", "/api/v1/patients/"): {"expected_end_date": BETWEEN, "care_team": EXISTS},
    ("PUT", "/api/v1/patients/{id}/checkin-schedule/"): {"due_by": BETWEEN},
    ("POST", "/api/v1/patients/{id}/conversation/read/"): {"up_to": EXISTS},
    ("POST", "/api/v1/patients/{id}/discharge/"): {"status": STATE},
    ("POST", "/api/v1/patients/{id}/readmit/"): {"status": STATE},
    ("POST", "/api/v1/patients/{id}/questionnaires/"): {"instrument": EXISTS},
    ("POST", "/api/v1/patients/{id}/suggestion/dismiss/"): {
        "suggested_stage": BETWEEN,
        "suggested_level_of_care": BETWEEN,
        "conflict": "only the suggestion on offer",
    },
    ("POST", "/api/v1/patients/{id}/change/"): {"stage": BETWEEN, "level_of_care": BETWEEN},
    ("PUT", "/api/v1/patients/{id}/care-team/"): {"members": EXISTS, "primary_counselor": EXISTS},
    ("POST", "/api/v1/patients/{id}/redemptions/"): {"item": EXISTS, "non_field_errors": STATE},
    ("GET", "/api/v1/patients/{id}/timeline/"): {"cursor": "a cursor the server handed out"},
    ("POST", "/api/v1/plans/"): {"goals": BETWEEN, "patient": STATE},
    ("POST", "/api/v1/plans/{id}/comments/"): {
        "body": "a comment, or agreement to the plan",
        "agrees": WHO,
    },
    ("POST", "/api/v1/plans/{id}/goals/"): {
        "instrument": BETWEEN,
        "target_value": BETWEEN,
        "due_date": TODAY,
    },
    ("POST", "/api/v1/practices/"): {"exercise": EXISTS},
    ("POST", "/api/v1/program/instruments/"): {"definition": "a valid FHIR Questionnaire"},
    ("PUT", "/api/v1/program/office-hours/"): {"closes_at": BETWEEN},
    ("POST", "/api/v1/program/questionnaire-schedule/"): {
        "instrument": EXISTS,
        "every_days": BETWEEN,
    },
    ("PUT", "/api/v1/program/questionnaire-settings/"): {
        "alert_thresholds": "the alert rules of each instrument",
    },
    ("POST", "/api/v1/questionnaire-responses/"): {
        "device_time": TODAY,
        "answers": "the instrument's questions",
    },
    ("PATCH", "/api/v1/program/settings/"): {
        # Decimals travel as strings: a schema has no minimum for them.
        "required_hours_per_week": "a decimal's minimum",
        "suggestion_min_checkin_adherence": "a decimal's minimum",
        "service_day_min_hours": "a decimal's minimum",
    },
    ("GET", "/api/v1/reports/adherence/"): {"end": BETWEEN},
    ("GET", "/api/v1/reports/adherence/csv/"): {"end": BETWEEN},
    ("GET", "/api/v1/reports/flags/"): {"end": BETWEEN},
    ("GET", "/api/v1/reports/flags/csv/"): {"end": BETWEEN},
    ("GET", "/api/v1/reports/service-days/"): {"end": BETWEEN},
    ("GET", "/api/v1/reports/service-days/csv/"): {"end": BETWEEN},
    ("POST", "/api/v1/screens/"): {
        "results": BETWEEN,
        "observed": BETWEEN,
        "collected_on": TODAY,
    },
    ("POST", "/api/v1/screens/{id}/correct/"): {"results": BETWEEN, "observed": BETWEEN},
    ("POST", "/api/v1/series/"): {
        "rrule": "an RFC 5545 rule with an end",
        "patients": EXISTS,
        "facilitator": EXISTS,
        "duration_minutes": "between 5 minutes and 12 hours",
        "start_date": TODAY,
        "video_url": "an http(s) address",
    },
    ("POST", "/api/v1/series/{id}/cancel-rest/"): {"from_instant": STATE},
    ("POST", "/api/v1/series/{id}/move-rest/"): {
        "from_date": STATE,
        "duration_minutes": "between 5 minutes and 12 hours",
    },
    ("POST", "/api/v1/sessions/"): {"ends_at": BETWEEN, "facilitator": EXISTS, "patients": EXISTS},
    ("PATCH", "/api/v1/sessions/{id}/"): {
        "ends_at": BETWEEN,
        "facilitator": EXISTS,
        "patients": EXISTS,
    },
    ("POST", "/api/v1/sessions/{id}/cancel/"): {"status": STATE},
    ("POST", "/api/v1/staff/invitations/"): {
        "email": "an open invitation is reissued, not sent twice"
    },
    ("POST", "/api/v1/staff/{id}/deactivate/"): {"conflict": WHO},
    ("POST", "/api/v1/staff/{id}/reactivate/"): {"conflict": WHO},
    ("POST", "/api/v1/sessions/{id}/attendance/"): {
        "minutes_attended": "at most the session's length",
        "status": STATE,
    },
}


# Text anywhere may not hold NUL (PostgreSQL cannot store it); a string's pattern could
# say so, but on every string of every body it would slow generation for little.
NUL_MESSAGE = "Text may not contain NUL characters."


def _covered(name: str, messages: list[str], rules: dict[str, str]) -> bool:
    if messages and all(message == NUL_MESSAGE for message in messages):
        return True
    return name in rules or any(name.startswith(f"{field}.") for field in rules)


def refused_by_a_server_rule(failure: Any, case: Any, response: Any) -> bool:
    """A "valid request rejected" whose refusal names only rules listed for the operation."""
    if not isinstance(failure, RejectedPositiveData):
        return False
    rules = SERVER_RULES.get((case.operation.method.upper(), case.operation.path), {})
    try:
        error = response.json().get("error", {})
    except ValueError:
        return False
    if response.status_code == 422:
        return error.get("code") in rules
    fields = error.get("fields") or {}
    return (
        response.status_code == 400
        and bool(fields)
        and all(_covered(name, list(messages), rules) for name, messages in fields.items())
    )
