"""The whole API fuzzed from its own OpenAPI schema (issue 7).

Schemathesis reads /api/schema/ from the WSGI application (`backend.wsgi.application`),
generates requests for every operation and sends each one through the real Django stack
as anonymous, patient, counselor and supervisor, against a fresh world of data per
operation (conftest.py). Every answer is checked: never a 5xx, a documented status code,
the documented content type and headers, a body that matches the documented schema.
Generation hooks put real ids (the caller's own, a neighbour's, another program's) into
`{id}`, `{checkin_id}` and `?patient=`, next to what the schema alone would generate, so
the happy paths are reached, not only 404s.

Bounded and reproducible: MAX_EXAMPLES cases per operation (each sent as every role),
derandomized, no example database, no deadline. Run with `pytest -m fuzz tests/fuzz`.

Known problems the run found are listed in KNOWN_ISSUES. The fuzz test drops exactly
those failures (nothing else, and never a server error) so it keeps guarding the rest of
each operation; test_known_issue reproduces each one with a single request, validated
against the live schema, as a strict xfail: fixing the API or the schema turns it into
an XPASS, which fails the run until the entry is removed here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.openapi import TIME_ZONE_FORMAT
from backend.timezones import known_timezones
from backend.wsgi import application
from tests.fuzz import conftest as fuzz
from tests.fuzz.conftest import ROLES, World
from tests.fuzz.server_rules import refused_by_a_server_rule

pytestmark = pytest.mark.fuzz

# Cases per operation; each is sent as all four roles. With 109 operations the run stays
# well under five minutes on two cores. `make fuzz-deep` sets IOP_FUZZ_EXAMPLES=50.
MAX_EXAMPLES = int(os.environ.get("IOP_FUZZ_EXAMPLES", "8"))

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,  # hypothesis derandomize: the same cases on every run
            "database": "none",  # no .hypothesis directory, no replay of old failures
            "mode": "all",  # valid and invalid input alike
        },
        "phases": {
            "examples": {"enabled": True},
            "fuzzing": {"enabled": True},
            # The coverage phase sends every boundary of every parameter (hundreds of
            # requests for the larger bodies): it is not bounded by max-examples.
            "coverage": {"enabled": False},
            "stateful": {"enabled": False},
        },
    }
)

# The schema names time zone fields' format; valid data for it is a zone the server knows.
schemathesis.openapi.format(TIME_ZONE_FORMAT, st.sampled_from(sorted(known_timezones())))

schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)

# The checks of `make fuzz`: never a 5xx, and every answer as documented.
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# IOP_FUZZ_CHECKS=all (`make fuzz-deep`): every check schemathesis has (`--checks all`),
# the strict ones too: a valid request rejected (positive_data_acceptance), an invalid one
# accepted (negative_data_rejection), ignored auth, unsupported methods... Not yet the
# default: schema-valid requests the server still refuses on rules the schema cannot say
# (a row that must exist, rules between fields) fail it.
CHECKS = None if os.environ.get("IOP_FUZZ_CHECKS") == "all" else CONFORMANCE

# The sign-in endpoints take no token. They are sent as anonymous only: with a token they
# behave the same, and four times the requests would only feed the login and enrollment
# code throttles (10/min) and django-axes. They may answer 429, which the schema documents
# (in the error format) and the checks accept.
ANONYMOUS_ONLY = frozenset(
    {"/api/v1/auth/token/", "/api/v1/auth/token/refresh/", "/api/v1/auth/enrollment-code/"}
)


def roles_for(path: str) -> tuple[str, ...]:
    return ("anonymous",) if path in ANONYMOUS_ONLY else ROLES


def _segment(path: str) -> str:
    """`/api/v1/flags/{id}/resolve/` -> `flags`."""
    return path.removeprefix("/api/v1/").split("/", 1)[0]


# --- generation ----------------------------------------------------------------------------

# A path parameter the URL pattern does not accept (`<int:pk>` is `[0-9]+`, `<uuid:...>` is
# lower-case hex) never reaches a view: the JSON 404 handler answers it. Such values (the
# schema allows any integer, and negative mode sends strings) are swapped for routable ones
# so that each case exercises the operation itself.
ROUTABLE = {
    "id": re.compile(r"[0-9]+"),
    "checkin_id": re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
}
# Routable, and no row has it: the "not found" path, which must stay a JSON 404.
ABSENT = {"id": 2**31 - 1, "checkin_id": "00000000-0000-4000-8000-000000000000"}


def _routable(name: str, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return False
    return ROUTABLE[name].fullmatch(str(value)) is not None


def _path_with_world_ids(world: World, operation: Any, path_parameters: dict[str, Any]) -> Any:
    """Half the time a real id from the world: someone's own, a neighbour's, a foreigner's."""
    name = next(name for name in ROUTABLE if name in path_parameters)
    known = list(world.ids.get(_segment(operation.path), []))
    real = st.sampled_from([*known, ABSENT[name]]).map(
        lambda value: {**path_parameters, name: value}
    )
    if not _routable(name, path_parameters[name]):
        return real
    return st.one_of(st.just(path_parameters), real)


@schema.hook
def flatmap_query(context: Any, query: dict[str, Any] | None) -> Any:
    """`?patient=` names a real enrollment half the time."""
    world = fuzz.ACTIVE
    if world is None or query is None or "patient" not in query:
        return st.just(query)
    return st.one_of(
        st.just(query),
        st.sampled_from(world.ids["patients"]).map(lambda value: {**query, "patient": value}),
    )


def _body_properties(raw: dict[str, Any]) -> dict[tuple[str, str], frozenset[str]]:
    """(METHOD, path) -> the properties its JSON request body declares."""
    components = raw.get("components", {}).get("schemas", {})
    found: dict[tuple[str, str], frozenset[str]] = {}
    for path, methods in raw.get("paths", {}).items():
        for method, operation in methods.items():
            content = (operation.get("requestBody") or {}).get("content", {})
            body = content.get("application/json", {}).get("schema", {})
            if "$ref" in body:
                body = components.get(body["$ref"].rsplit("/", 1)[-1], {})
            if body.get("properties"):
                found[(method.upper(), path)] = frozenset(body["properties"])
    return found


BODY_PROPERTIES = _body_properties(schema.raw_schema)

# Body fields that name something by id, and where the world keeps candidates for them.
ID_FIELDS = {
    "patient": "patients",
    "exercise": "exercises",
    "recipient": "contacts",
    "assignee": "staff",
    "facilitator": "staff",
}


def _with_world_body(world: World, body: dict[str, Any], declared: frozenset[str]) -> Any:
    """`body` without the keys the schema does not declare (the API refuses unknown keys, so
    a body carrying one never gets past validation) and with real ids in the fields that
    name a patient, exercise, contact or staff member."""
    fields: dict[str, Any] = {key: st.just(value) for key, value in body.items() if key in declared}
    for name, segment in ID_FIELDS.items():
        if name in declared:
            fields[name] = st.sampled_from(world.ids[segment])
    if "patients" in declared:
        fields["patients"] = st.lists(st.sampled_from(world.ids["patients"]), max_size=2)
    if "care_team" in declared:
        fields["care_team"] = st.lists(st.sampled_from(world.ids["staff"]), max_size=2)
    if "ids" in declared:
        fields["ids"] = st.permutations(world.ids["own_contacts"])
    if "timezone" in declared:
        fields["timezone"] = st.sampled_from(["America/New_York", "Europe/Berlin", "UTC"])
    return st.fixed_dictionaries(fields)


def _is_negative(case: schemathesis.Case, location: ParameterLocation) -> bool:
    meta = case.meta
    component = meta.components.get(location) if meta is not None else None
    return component is not None and component.mode.is_negative


@schema.hook
def flatmap_case(context: Any, case: schemathesis.Case) -> Any:
    """Real ids in the path (_path_with_world_ids) and a realistic body (_with_world_body),
    so the happy paths are reached. Only where the case is positive data: a negative path
    or body is left as generated, or the hook would turn a request the server must refuse
    into a valid one and negative_data_rejection would blame the server for accepting it.
    (A case hook, not per-component hooks: only the case knows how each part was made.)"""
    world = fuzz.ACTIVE
    operation = context.operation
    if world is None:
        return st.just(case)
    path_parameters = case.path_parameters or {}
    paths = st.just(case.path_parameters)
    if any(name in path_parameters for name in ROUTABLE) and not _is_negative(
        case, ParameterLocation.PATH
    ):
        paths = _path_with_world_ids(world, operation, path_parameters)
    declared = BODY_PROPERTIES.get((operation.method.upper(), operation.path))
    bodies = st.just(case.body)
    if declared and isinstance(case.body, dict) and not _is_negative(case, ParameterLocation.BODY):
        bodies = st.one_of(bodies, _with_world_body(world, case.body, declared))

    def with_parts(parts: tuple[Any, Any]) -> schemathesis.Case:
        new_path, new_body = parts
        if new_path is not case.path_parameters:
            case.path_parameters = new_path
        if new_body is not case.body:
            case.body = new_body
        return case

    return st.tuples(paths, bodies).map(with_parts)


# --- known issues --------------------------------------------------------------------------

# What PatientScreenSerializer leaves out of the staff shape the schema documents.
PATIENT_HIDDEN = {"screens": frozenset({"note", "recorded_by"})}


@dataclass(frozen=True)
class Repro:
    """One request that shows the issue: who sends it, where, with what."""

    role: str
    method: str
    path: str
    path_parameters: Callable[[World], dict[str, Any]] | None = None
    body: Callable[[World], Any] | None = None


@dataclass(frozen=True)
class KnownIssue:
    name: str
    reason: str
    # Is this failure (of this case and response) the known issue, and nothing else?
    matches: Callable[[Failure, schemathesis.Case, schemathesis.Response], bool]
    repros: tuple[Repro, ...]


def _schema_error(failure: Failure) -> JsonSchemaError | None:
    return failure if isinstance(failure, JsonSchemaError) else None


def _patient_shape_undocumented(
    failure: Failure, case: schemathesis.Case, response: schemathesis.Response
) -> bool:
    error = _schema_error(failure)
    hidden = PATIENT_HIDDEN.get(_segment(case.operation.path))
    world = fuzz.ACTIVE
    if error is None or hidden is None or world is None or error.schema_path[-1:] != ["required"]:
        return False
    authorization = response.request.headers.get("Authorization")
    if world.role_of(str(authorization) if authorization else None) != "patient":
        return False
    instance = error.instance if isinstance(error.instance, dict) else {}
    missing = set(error.schema.get("required", [])) - set(instance)
    return bool(missing) and missing <= hidden


def _own(segment: str, index: int = 0) -> Callable[[World], dict[str, Any]]:
    return lambda world: {"id": world.ids[segment][index]}


# None open: the patient's screen shape (PatientScreenSerializer leaves out `note` and
# `recorded_by`) is documented now, those two are optional in the Screen schema.
KNOWN_ISSUES: tuple[KnownIssue, ...] = ()


def filter_failure(
    context: Any, failure: Failure, case: schemathesis.Case, response: schemathesis.Response
) -> bool:
    """Keep every failure but the known issues and refusals by rules the schema cannot
    state (server_rules.py); a server error is always kept."""
    if response.status_code >= 500:
        return True
    if refused_by_a_server_rule(failure, case, response):
        return False
    return not any(issue.matches(failure, case, response) for issue in KNOWN_ISSUES)


def _mangled_authorization(case: schemathesis.Case) -> bool:
    """Negative data in the headers that carries its own Authorization header: the bearer
    scheme of the schema, generated to violate its format."""
    meta = case.meta
    component = meta.components.get(ParameterLocation.HEADER) if meta is not None else None
    if component is None or not component.mode.is_negative:
        return False
    return any(name.lower() == "authorization" for name in case.headers or {})


# --- the run -------------------------------------------------------------------------------

# The world fixture is function scoped on purpose: one world per operation, shared by that
# operation's cases (what one request changes, the next one sees, as on a server).
# filter_too_much: a few large bodies (sessions, check-ins) whose every field is bounded make
# hypothesis discard many drafts; what it does generate is still sent and checked.
SHARED_WORLD = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much]
)


@schema.hooks.apply(filter_failure)
@schema.parametrize()
@SHARED_WORLD
def test_api(case: schemathesis.Case, fuzz_world: World) -> None:
    if _mangled_authorization(case):
        # Our token would replace the very header that makes the case invalid, and the
        # server would rightly accept the request. Sent once, as generated: nobody's token.
        try:
            case.call_and_validate(checks=CHECKS)
        except FailureGroup as failures:
            failures.add_note("Sent with its own (invalid) Authorization header.")
            raise
        return
    for role in roles_for(case.operation.path):
        try:
            case.call_and_validate(headers=fuzz_world.headers(role), checks=CHECKS)
        except FailureGroup as failures:
            failures.add_note(f"Sent as {role}.")
            raise


@pytest.mark.parametrize(
    ("issue", "repro"),
    [
        pytest.param(
            issue,
            repro,
            id=f"{issue.name}: {repro.role} {repro.method} {repro.path}",
            marks=pytest.mark.xfail(strict=True, raises=FailureGroup, reason=issue.reason),
        )
        for issue in KNOWN_ISSUES
        for repro in issue.repros
    ],
)
def test_known_issue(issue: KnownIssue, repro: Repro, fuzz_world: World) -> None:
    """The known issue, one request, checked against the live schema with no filter."""
    operation = schema[repro.path][repro.method]
    kwargs: dict[str, Any] = {}
    if repro.path_parameters is not None:
        kwargs["path_parameters"] = repro.path_parameters(fuzz_world)
    if repro.body is not None:
        kwargs["body"] = repro.body(fuzz_world)
        kwargs["media_type"] = "application/json"
    case = operation.Case(**kwargs)
    case.call_and_validate(headers=fuzz_world.headers(repro.role), checks=CHECKS)
