"""Shared API plumbing: one error format, capped pages, a JSON parser that refuses NUL."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

if TYPE_CHECKING:
    from recovery.models import User


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class CappedPagination(PageNumberPagination):
    """Page size is the client's to choose, up to a cap; over the cap is an error."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Any) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            raise exceptions.ValidationError(
                {"page_size": ["A whole number is required."]}
            ) from None
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError(
                {"page_size": [f"Must be between 1 and {self.max_page_size}."]}
            )
        return size


def _nul_path(value: Any, path: str = "") -> str | None:
    """Where the first NUL character is ("" for the top level), or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here
            found = _nul_path(item, here)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


class StrictJSONParser(JSONParser):
    """JSON only, no NUL characters anywhere (PostgreSQL cannot store them in text)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        where = _nul_path(data)
        if where is not None:
            field = where or "non_field_errors"
            raise exceptions.ValidationError({field: ["Text may not contain NUL characters."]})
        return data


def _field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten DRF's nested errors to dotted keys, each with a list of messages:
    `{"results": [{}, {"result": [...]}]}` becomes `{"results.1.result": [...]}`."""
    key = prefix or "non_field_errors"
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for name, value in detail.items():
            flat.update(_field_errors(value, f"{prefix}.{name}" if prefix else str(name)))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {key: [str(item) for item in detail]} if detail else {}
        flat = {}
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                flat.update(_field_errors(item, f"{prefix}.{index}" if prefix else str(index)))
            else:
                flat.setdefault(key, []).append(str(item))
        return flat
    return {key: [str(detail)]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error answers `{"error": {"code", "message", "fields"}}`."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, IntegrityError):
        exc = exceptions.ValidationError(
            {"non_field_errors": ["This conflicts with existing data."]}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        exc = exceptions.ParseError()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    body: dict[str, Any]
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_errors(exc.detail)
        body = {"error": {"code": "invalid", "message": "Invalid input.", "fields": fields}}
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = str(detail) if not isinstance(detail, dict | list) else "Request refused."
        codes = exc.get_codes()
        body = {
            "error": {
                "code": codes if isinstance(codes, str) else "error",
                "message": message,
                "fields": {},
            }
        }
    else:  # pragma: no cover - DRF only hands us APIException subclasses here
        body = {"error": {"code": "error", "message": "Request refused.", "fields": {}}}
    response.data = body
    return response


def request_user(request: Any) -> User:
    """The authenticated user of a request. Views behind IsAuthenticated call this so the
    type checker knows the user is real; an anonymous request never gets this far."""
    user = request.user
    if not getattr(user, "is_authenticated", False):
        raise exceptions.NotAuthenticated()
    return cast("User", user)


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know, so a client cannot think it set a server field."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {name for name, f in self.fields.items() if not f.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {key: ["Unknown or read-only field."] for key in unknown}
                )
        return super().to_internal_value(data)


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass


def lockout_response(request: Any, original_response: Any, credentials: Any) -> HttpResponse:
    """django-axes answers a lockout in the API's one error format (pages get text)."""
    message = "Too many failed sign-ins. Try again later or ask your supervisor."
    if not request.path.startswith("/api/"):
        return HttpResponse(
            message,
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            content_type="text/plain; charset=utf-8",
        )
    return JsonResponse(
        {
            "error": {
                "code": "locked_out",
                "message": "Too many failed sign-ins. Try again later or ask your supervisor.",
                "fields": {},
            }
        },
        status=status.HTTP_429_TOO_MANY_REQUESTS,
    )


def not_found(request: Any, exception: Exception) -> HttpResponse:
    """A path no route matches: the API answers in its error format, pages as pages."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}, status=404
        )
    return page_not_found(request, exception)


def server_error(request: Any) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": "server_error", "message": "Something went wrong.", "fields": {}}},
            status=500,
        )
    return default_server_error(request)


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
        "example": "18:00",
        "description": "Local wall-clock time, HH:MM[:SS], without an offset.",
    }
)
class LocalTimeField(serializers.TimeField):
    """A wall-clock time in a patient's or program's own zone, so it has no UTC offset
    (OpenAPI's `format: time` would demand one)."""
