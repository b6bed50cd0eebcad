"""Extreme values to every number, date and date-time the API documents: never a 500.

The operations and their parameters come from the OpenAPI schema, so a new endpoint or
field is covered without touching this file. Each operation is first sent a valid
request (real ids from the fuzz world, a body built from the schema) as the first role it
does not refuse; then each number, date and date-time parameter or body property, one at
a time, is replaced by values that overflow SQLite's 64-bit integers, date arithmetic or
the conversion to UTC. Every answer must be below 500. Each request runs in a savepoint
that is rolled back, so one world of data serves every operation.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from backend.timezones import local_today
from tests.fuzz.conftest import World, build_world

pytestmark = pytest.mark.django_db

NUMBERS: tuple[Any, ...] = (1e30, -1e30, 2**64, -(2**63) - 1, 10**400, -1)
NUMBER_STRINGS = ("1e30", "-1e30", str(2**64), str(2**63), "1e400", "NaN")
DATES = ("9999-12-31", "0001-01-01", "3000-01-01")
DATETIMES = (
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59",
)
PATH_IDS = (str(2**64), str(2**63), str(2**63 - 1), "0")

# Body properties that name a row: a real one, so that the rest of the body is valid.
ID_FIELDS = {
    "patient": "patients",
    "exercise": "exercises",
    "recipient": "contacts",
    "assignee": "staff",
    "facilitator": "staff",
}
ROLES = ("patient", "counselor", "supervisor")
# Sign-in endpoints have no number or date input; they would only feed the throttles.
SKIPPED_PATHS = ("/api/v1/auth/",)


def _now() -> str:
    return timezone.now().isoformat()


def _later(days: int) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


ZONE = "America/New_York"


def _today(days: int = 0) -> str:
    # The programs' and patients' zone (tests/factories.py), not the server's.
    return (local_today(ZONE) + timedelta(days=days)).isoformat()


SCHEDULE = {"opens_at": "17:00", "due_by": "21:00", "days_of_week": [1, 3, 5], "grace_minutes": 30}

# Bodies the schema alone cannot make valid (rules between fields, rows that must exist).
OVERRIDES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/checkins/"): lambda w: {
        "id": str(uuid.uuid4()),
        "mood": 3,
        "craving": 2,
        "used_substance": False,
        "device_time": _now(),
        "device_timezone": "America/New_York",
    },
    ("POST", "/api/v1/sessions/"): lambda w: {
        "kind": "group_therapy",
        "title": "Relapse prevention",
        "starts_at": _later(3),
        "ends_at": (timezone.now() + timedelta(days=3, hours=3)).isoformat(),
    },
    ("POST", "/api/v1/series/"): lambda w: {
        "kind": "group_therapy",
        "title": "Evening group",
        "rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=4",
        "start_date": _today(),
        "start_time": "18:00",
        "duration_minutes": 180,
        "timezone": "America/New_York",
    },
    ("POST", "/api/v1/series/{id}/move-rest/"): lambda w: {
        "from_date": _today(),
        "start_time": "17:00",
        "duration_minutes": 120,
    },
    ("POST", "/api/v1/consents/"): lambda w: {
        "recipient": w.ids["contacts"][0],
        "events": ["urge"],
        "purpose": "Support in recovery",
        "expires_at": _later(90),
        "revocation_acknowledged": True,
        "signature": "Pat Example",
    },
    ("POST", "/api/v1/patients/"): lambda w: {"first_name": "Robin", "start_date": _today()},
    ("POST", "/api/v1/contacts/"): lambda w: {
        "name": "Sam",
        "relationship": "sponsor",
        "phone": "+1 555 0101",
    },
    ("POST", "/api/v1/contacts/reorder/"): lambda w: {"ids": list(reversed(w.ids["own_contacts"]))},
    ("POST", "/api/v1/goals/{id}/revise/"): lambda w: {
        "description": "Three meetings a week",
        "due_date": _today(30),
    },
    ("POST", "/api/v1/goals/{id}/status/"): lambda w: {"status": "met"},
    ("POST", "/api/v1/patients/{id}/change/"): lambda w: {"stage": "early_recovery"},
    ("PUT", "/api/v1/me/checkin-schedule/"): lambda w: SCHEDULE,
    ("PUT", "/api/v1/patients/{id}/checkin-schedule/"): lambda w: SCHEDULE,
    ("PATCH", "/api/v1/plans/{id}/"): lambda w: {"summary": "Renewed plan"},
    ("POST", "/api/v1/plans/{id}/comments/"): lambda w: {"body": "Sounds right."},
    ("POST", "/api/v1/screens/"): lambda w: {
        "patient": w.ids["patients"][0],
        "collected_on": _today(-1),
        "method": "urine",
        "observed": True,
        "results": [{"substance": "cocaine", "result": "negative"}],
    },
    ("POST", "/api/v1/sessions/{id}/attendance/"): lambda w: {
        "patient": w.ids["patients"][0],
        "status": "present",
        "minutes_attended": 60,
    },
}


@dataclass
class Schema:
    raw: dict[str, Any]

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in node:
            return self.resolve(self.raw["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]])
        for key in ("allOf", "oneOf", "anyOf"):
            if key in node:
                return self.resolve(node[key][0])
        return node

    def kind(self, node: dict[str, Any]) -> str | None:
        """`number`, `date` or `date-time` for the values this test bends, else None."""
        node = self.resolve(node)
        if node.get("type") in ("integer", "number"):
            return "number"
        if node.get("format") in ("date", "date-time"):
            return str(node["format"])
        return None

    def sample(self, node: dict[str, Any], name: str, world: World) -> Any:
        """A plausible valid value for a property."""
        if name in ID_FIELDS:
            return world.ids[ID_FIELDS[name]][0]
        node = self.resolve(node)
        if "example" in node:
            return node["example"]
        if "enum" in node:
            return next(value for value in node["enum"] if value not in ("", None))
        kind, fmt = node.get("type"), node.get("format")
        if fmt == "date":
            return _today()
        if fmt == "decimal":
            return "1.00"
        if fmt == "date-time":
            return _later(1)
        if kind == "boolean":
            return True
        if kind in ("integer", "number"):
            return max(node.get("minimum", 1), 1)
        if kind == "array":
            items = node.get("items", {})
            return [self.sample(items, name, world)] * node.get("minItems", 0)
        if kind == "object":
            return {
                key: self.sample(value, key, world)
                for key, value in node.get("properties", {}).items()
                if key in node.get("required", [])
            }
        if fmt == "uuid":
            return str(uuid.uuid4())
        if fmt == "email":
            return "sam@example.org"
        if name == "timezone":
            return "America/New_York"
        if "time" in name:
            return "18:00"
        return "Example"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]


def _operations(schema: Schema) -> Iterator[Operation]:
    for path, methods in schema.raw["paths"].items():
        if path.startswith(SKIPPED_PATHS):
            continue
        for method, spec in methods.items():
            yield Operation(method.upper(), path, spec)


def _segment(path: str) -> str:
    return path.removeprefix("/api/v1/").split("/", 1)[0]


class Sender:
    def __init__(self, world: World, schema: Schema) -> None:
        self.world = world
        self.schema = schema
        self.client = Client()

    def path_values(self, op: Operation) -> dict[str, Any]:
        ids = self.world.ids
        values: dict[str, Any] = {}
        if "{id}" in op.path:
            values["id"] = ids[_segment(op.path)][0]
        if "{checkin_id}" in op.path:
            values["checkin_id"] = ids["checkins"][0]
        return values

    def body(self, op: Operation) -> dict[str, Any] | None:
        override = OVERRIDES.get((op.method, op.path))
        if override is not None:
            return dict(override(self.world))
        node = self.body_schema(op)
        if node is None:
            return None
        return dict(self.schema.sample(node, "", self.world))

    def body_schema(self, op: Operation) -> dict[str, Any] | None:
        content = (op.spec.get("requestBody") or {}).get("content", {})
        node = content.get("application/json", {}).get("schema")
        return None if node is None else self.schema.resolve(node)

    def send(
        self,
        op: Operation,
        role: str,
        path_values: dict[str, Any],
        query: dict[str, Any],
        body: Any,
    ) -> tuple[int, str]:
        url = op.path.format(**path_values)
        headers = self.world.headers(role)
        try:
            with transaction.atomic():
                if op.method == "GET":
                    response = self.client.get(url, query, headers=headers)
                else:
                    response = self.client.generic(
                        op.method,
                        url
                        + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""),
                        json.dumps(body if body is not None else {}),
                        content_type="application/json",
                        headers=headers,
                    )
                transaction.set_rollback(True)
        except Exception as exc:  # the test client re-raises what a view raised: a 500
            return 500, f"{type(exc).__name__}: {exc}"[:200]
        return response.status_code, response.content[:200].decode(errors="replace")


def _cases(sender: Sender, op: Operation) -> Iterator[tuple[str, dict[str, Any], dict, Any]]:
    """(what is bent, path values, query, body) for each extreme value of each input."""
    schema = sender.schema
    base_path = sender.path_values(op)
    base_body = sender.body(op)
    for parameter in op.spec.get("parameters", []):
        kind = schema.kind(parameter.get("schema", {}))
        name, where = parameter["name"], parameter["in"]
        if where == "path" and kind == "number":
            for raw in PATH_IDS:
                yield f"path {name}={raw}", {**base_path, name: raw}, {}, base_body
        elif where == "query" and kind is not None:
            values = {"number": NUMBER_STRINGS, "date": DATES, "date-time": DATETIMES}[kind]
            for raw in values:
                yield f"?{name}={raw}", base_path, {name: raw}, base_body
    node = sender.body_schema(op)
    if node is None or base_body is None:
        return
    for name, prop in node.get("properties", {}).items():
        prop = schema.resolve(prop)
        if prop.get("readOnly"):
            continue
        kind = schema.kind(prop)
        wrap = False
        if kind is None and prop.get("type") == "array":
            kind, wrap = schema.kind(prop.get("items", {})), True
        if kind is None:
            continue
        values = {"number": NUMBERS, "date": DATES, "date-time": DATETIMES}[kind]
        for value in values:
            bent = [value] if wrap else value
            yield f"body {name}={bent!r:.40}", base_path, {}, {**base_body, name: bent}


@pytest.fixture
def sender() -> Sender:
    raw = SchemaGenerator().get_schema(request=None, public=True)
    return Sender(build_world(), Schema(json.loads(json.dumps(raw, default=str))))


def test_extreme_numbers_and_dates_never_answer_500(sender: Sender) -> None:
    failures: list[str] = []
    for op in _operations(sender.schema):
        cases = list(_cases(sender, op))
        if not cases:
            continue
        base_path, base_body = sender.path_values(op), sender.body(op)
        # A patient and staff often take different paths (staff name the patient with
        # ?patient=, a patient gets their own): the patient and the first staff role served.
        served_staff = False
        for role in ROLES:
            if served_staff:
                break
            status, text = sender.send(op, role, base_path, {}, base_body)
            if status in (401, 403):
                continue
            served_staff = role != "patient"
            if status >= 500:
                failures.append(f"{op.method} {op.path} as {role}, valid request: {status} {text}")
            for what, path_values, query, body in cases:
                status, text = sender.send(op, role, path_values, query, body)
                if status >= 500:
                    failures.append(f"{op.method} {op.path} as {role}, {what}: {status} {text}")
    assert not failures, "\n".join(failures)
