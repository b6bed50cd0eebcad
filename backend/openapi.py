"""drf-spectacular hooks: document the one error format on every operation."""

from __future__ import annotations

import inspect
import re
from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema

from backend.api import StrictSerializer
from backend.bounds import EARLIEST_DATE, LATEST_DATE, MAX_ID

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}

ERRORS = {
    "400": "Invalid input: `fields` names each field and what is wrong with it.",
    "401": (
        "Not authenticated; `code` says why and what to do: `token_expired` (refresh the "
        "token and retry), `token_invalid` or `token_revoked` (sign in again), "
        "`not_authenticated` (send a token), `otp_setup_required` (staff: set up two-factor "
        "sign-in first)."
    ),
    "403": "Your role may not do this.",
    "404": "Not found, or not yours to see.",
    "413": "The request body is too large.",
    "426": (
        "`upgrade_required`: this app (X-App-Platform, X-App-Version) is older than the "
        "oldest version the deployment supports, named in X-Min-App-Version. Show an update "
        "prompt."
    ),
    "429": "Too many requests; retry later.",
    "503": (
        "A sign-in the deployment refuses while the revocation cache is down "
        "(code `revocation_unavailable`): keep the tokens, retry after `Retry-After` seconds."
    ),
}


API_VERSION_HEADER = {
    "API-Version": {
        "description": "The version of the API that answered (the schema's info.version).",
        "required": True,
        "schema": {"type": "string"},
    }
}


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """The error format on every operation, and the API-Version header on every answer."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path, methods in result.get("paths", {}).items():
        for method, operation in methods.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                if code == "400" and method == "get" and not operation.get("parameters"):
                    continue
                responses.setdefault(
                    code,
                    {"description": description, "content": {"application/json": {"schema": ref}}},
                )
            if path.endswith("/checkins/") and method == "post":
                responses.setdefault(
                    "422",
                    {
                        "description": "This check-in id was already used with different answers.",
                        "content": {"application/json": {"schema": ref}},
                    },
                )
            if path.endswith(("/deactivate/", "/reactivate/")) and path.startswith(
                "/api/v1/staff/"
            ):
                responses.setdefault(
                    "422",
                    {
                        "description": "A supervisor's own account is not theirs to switch.",
                        "content": {"application/json": {"schema": ref}},
                    },
                )
            for response in responses.values():
                response.setdefault("headers", {}).update(API_VERSION_HEADER)
    return result


class SecondFactorJWTScheme(SimpleJWTScheme):
    """Document our JWT authentication (simplejwt plus the two-factor gate) as bearer."""

    target_class = "backend.authentication.JWTWithSecondFactorAuthentication"
    name = "jwtAuth"


STRICT_DOC = inspect.cleandoc(StrictSerializer.__doc__ or "")


class ContractAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus what the server enforces that it cannot see: a body
    read by a StrictSerializer refuses unknown keys (`additionalProperties: false`), and a
    field some callers do not get is not `required`."""

    def _get_request_for_media_type(self, serializer: Any, direction: str = "request") -> Any:
        # drf-spectacular documents every PATCH body as partial, as DRF's partial_update
        # reads it. A view whose patch() validates the whole body (`whole_patch_body`)
        # requires what its serializer requires.
        if self.method != "PATCH" or not getattr(self.view, "whole_patch_body", False):
            return super()._get_request_for_media_type(serializer, direction)
        self.method = "PUT"
        try:
            return super()._get_request_for_media_type(serializer, direction)
        finally:
            self.method = "PATCH"

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        result: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        # Fields a serializer leaves out for some callers (Meta.optional_in_schema): present
        # for staff, absent for a patient, so not `required` for a client of both.
        optional = set(getattr(getattr(serializer, "Meta", None), "optional_in_schema", ()))
        if optional and "required" in result:
            result["required"] = [name for name in result["required"] if name not in optional]
        if direction == "request" and isinstance(serializer, StrictSerializer):
            result["additionalProperties"] = False
        if inspect.cleandoc(result.get("description", "")) == STRICT_DOC:
            # The base class's own docstring, inherited: not a description of this body.
            del result["description"]
        return result


# Years 1900..2200 (backend.bounds): what every date and instant the server reads must fall
# in, as a pattern a generated client or a fuzzer can read (OpenAPI 3.0 has no date minimum).
# An instant near either end counts by its UTC date, which a pattern cannot say.
YEAR_IN_RANGE = rf"^({EARLIEST_DATE.year // 100}[0-9]{{2}}|2[01][0-9]{{2}}|{LATEST_DATE.year})-"
# An IANA zone name the server's tz database knows (Europe/Berlin); the list changes with
# tz releases, so it is a named format rather than an enum.
TIME_ZONE_FORMAT = "iana-time-zone"
TIME_ZONE_FIELDS = frozenset({"timezone", "device_timezone"})
# Query parameters that name a row: an id the server reads in 1..MAX_ID, else a 400.
ID_PARAMETERS = frozenset({"patient"})
DECIMAL_PATTERN = re.compile(r"\^-\?\\d\{0,(\d+)\}\(\?:\\\.\\d\{0,(\d+)\}\)\?\$")


def _bound_inputs(node: Any) -> None:
    """Mark every date, instant and time zone name inside one request schema."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        if item.get("type") == "string" and item.get("format") in {"date", "date-time"}:
            item.setdefault("pattern", YEAR_IN_RANGE)
        decimal = DECIMAL_PATTERN.fullmatch(str(item.get("pattern", "")))
        if item.get("type") == "string" and decimal:
            # drf-spectacular's pattern lets "" and "." through; the server wants a digit.
            whole, places = decimal.groups()
            item["pattern"] = (
                rf"^-?([0-9]{{1,{whole}}}(\.[0-9]{{0,{places}}})?|\.[0-9]{{1,{places}}})$"
            )
        for name, prop in (item.get("properties") or {}).items():
            if name in TIME_ZONE_FIELDS and isinstance(prop, dict) and prop.get("type") == "string":
                prop.setdefault("format", TIME_ZONE_FORMAT)
        stack.extend(item.values())


def bound_inputs(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """What the server enforces on dates and zones, in the schema of what it reads: request
    bodies (the `*Request` components and inline bodies) and parameters."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            _bound_inputs(component)
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                _bound_inputs(parameter.get("schema"))
                schema = parameter.get("schema") or {}
                # Read as a typed id (recovery.api.common.parse_id_param, IdFilter).
                if (
                    parameter.get("in") == "query"
                    and parameter.get("name") in ID_PARAMETERS
                    and schema.get("type") == "integer"
                ):
                    schema.setdefault("minimum", 1)
                    schema.setdefault("maximum", MAX_ID)
            content = (operation.get("requestBody") or {}).get("content", {})
            for media in content.values():
                _bound_inputs(media.get("schema"))
    return result
