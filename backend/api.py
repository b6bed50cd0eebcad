"""Shared API plumbing: one error format, capped pages, a JSON parser that refuses NUL."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpResponse, JsonResponse
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


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False


class StrictJSONParser(JSONParser):
    """JSON only, no NUL characters anywhere (PostgreSQL cannot store them in text)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        if _contains_nul(data):
            raise exceptions.ParseError("Text may not contain NUL characters.")
        return data


def _field_errors(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _field_errors(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_field_errors(value) for value in detail]
    return str(detail)


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
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_errors(exc.detail)
        if isinstance(fields, list):
            fields = {"non_field_errors": fields}
        body = {"error": {"code": "invalid", "message": "Invalid input.", "fields": fields}}
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = str(detail) if not isinstance(detail, dict | list) else "Request refused."
        body = {
            "error": {
                "code": exc.get_codes() if isinstance(exc.get_codes(), str) else "error",
                "message": message,
                "fields": {},
            }
        }
    else:  # pragma: no cover - DRF only hands us APIException subclasses here
        body = {"error": {"code": "error", "message": "Request refused.", "fields": {}}}
    response.data = body
    return response


def error_response(
    code: str,
    message: str,
    http_status: int = status.HTTP_400_BAD_REQUEST,
    fields: dict[str, list[str]] | None = None,
) -> Response:
    return Response(
        {"error": {"code": code, "message": message, "fields": fields or {}}}, status=http_status
    )


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
