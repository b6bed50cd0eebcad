"""drf-spectacular hooks: document the one error format on every operation."""

from __future__ import annotations

import inspect
from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema

from backend.api import StrictSerializer

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
