"""Shared API plumbing: one error format, capped pages, a JSON parser that refuses NUL."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, models
from django.http import Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.fields import SkipField, get_error_detail
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from backend.bounds import (
    DATE_RANGE_MESSAGE,
    MAX_INTEGER,
    MIN_INTEGER,
    date_in_range,
    instant_in_range,
)
from backend.errors import Conflict, NotAllowed, NotFound, ServiceError

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

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        # The page numbers themselves, beside the links: an app keeps a number (its sync
        # position), not a URL whose host may differ behind a proxy.
        page = self.page
        assert page is not None  # paginate_queryset ran: there is a response to add to
        response.data["next_page"] = page.next_page_number() if page.has_next() else None
        response.data["previous_page"] = (
            page.previous_page_number() if page.has_previous() else None
        )
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = super().get_paginated_response_schema(schema)
        page_number = {"type": "integer", "nullable": True, "minimum": 1, "example": 3}
        result["properties"]["next_page"] = page_number
        result["properties"]["previous_page"] = page_number
        result["required"] = sorted({*result.get("required", []), "next_page", "previous_page"})
        return result

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
            elif parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters


# Longer than any write transaction of a synced row (a check-in with its flags and
# notifications is well under a second; a dispatch batch a few seconds).
SYNC_OVERLAP = timedelta(minutes=2)


class SyncPagination(CappedPagination):
    """A list an app syncs: the answer says when it was read (`synced_at`), which the app
    passes as `updated_since` next time. Taken before the query, so a change made while
    it runs comes again rather than never. Rows are stamped when written, before their
    transaction commits, so a row written just before the query may only become visible
    after it: `synced_at` steps back SYNC_OVERLAP to hand those over next time (the app
    dedupes by id; some rows come twice, none never)."""

    synced_at: datetime | None = None

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        self.synced_at = timezone.now() - SYNC_OVERLAP
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data["synced_at"] = self.synced_at
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        result = super().get_paginated_response_schema(schema)
        result["properties"]["synced_at"] = {"type": "string", "format": "date-time"}
        result["required"] = sorted({*result["required"], "synced_at"})
        return result


class SyncsDeletions(Protocol):
    """A view whose list reports deletions: the ids deleted at or after `since`, of the
    rows the caller could have seen."""

    sync_since: datetime | None

    def deleted_ids(self, since: datetime) -> list[int]: ...


class SyncWithDeletionsPagination(SyncPagination):
    """A synced list whose rows can be deleted: with `updated_since`, the first page also
    carries `deleted`, the ids deleted since (the rows themselves are gone, so they cannot
    come in `results`). Taken after `synced_at`, like the rows, so none is missed."""

    deleted: list[int]

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        page = super().paginate_queryset(queryset, request, view)
        since = cast("SyncsDeletions", view).sync_since
        first = self.page is None or self.page.number == 1
        self.deleted = view.deleted_ids(since) if since is not None and first else []
        return page

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data["deleted"] = self.deleted
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        result = super().get_paginated_response_schema(schema)
        result["properties"]["deleted"] = {
            "type": "array",
            "items": {"type": "integer"},
            "description": "Ids deleted at or after `updated_since` (first page only; "
            "empty without `updated_since`): drop them from the app's copy.",
        }
        result["required"] = sorted({*result["required"], "deleted"})
        return result


def _nul_path(value: Any) -> str | None:
    """Where the first NUL character is ("" for the top level), or None. A walk with its
    own stack: the depth of a body is the client's to choose, Python's recursion is not."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path
        elif isinstance(item, dict | list):
            entries = item.items() if isinstance(item, dict) else enumerate(item)
            children: list[tuple[str, Any]] = []
            for key, child in entries:
                here = f"{path}.{key}" if path else str(key)
                if isinstance(item, dict):
                    children.append((here, str(key)))  # a NUL in the key names it too
                children.append((here, child))
            stack.extend(reversed(children))
    return None


# Real bodies nest a few levels; a thousand would exhaust Python's recursion in the JSON
# decoder (RecursionError, a 500) and in every walk over the data after it.
MAX_JSON_DEPTH = 32
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _nesting_exceeds(raw: bytes, limit: int) -> bool:
    """Whether arrays and objects nest deeper than `limit`, counted without parsing
    (brackets inside strings do not count)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for match in _JSON_TOKENS.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


class StrictJSONParser(JSONParser):
    """JSON only, nested at most MAX_JSON_DEPTH levels, no NUL characters anywhere
    (PostgreSQL cannot store them in text)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read()
        if _nesting_exceeds(raw, MAX_JSON_DEPTH):
            raise exceptions.ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:  # pragma: no cover - the depth check comes first
            raise exceptions.ParseError("JSON nested too deeply.") from None
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


# The HTTP status of each kind of domain error: decided here, and only here. A conflict
# answers 422, as a reused check-in id always has.
SERVICE_ERROR_STATUS: dict[type[ServiceError], int] = {
    NotAllowed: status.HTTP_403_FORBIDDEN,
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_422_UNPROCESSABLE_ENTITY,
    ServiceError: status.HTTP_400_BAD_REQUEST,
}


def _from_service_error(exc: ServiceError) -> exceptions.APIException:
    """The DRF exception that answers a domain error with its status and body."""
    http_status = next(
        SERVICE_ERROR_STATUS[kind] for kind in type(exc).__mro__ if kind in SERVICE_ERROR_STATUS
    )
    if http_status == status.HTTP_400_BAD_REQUEST:
        return exceptions.ValidationError(exc.fields or {"non_field_errors": [exc.message]})
    api_exception = exceptions.APIException(detail=exc.message, code=exc.code)
    api_exception.status_code = http_status
    return api_exception


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error answers `{"error": {"code", "message", "fields"}}`."""
    if isinstance(exc, ServiceError):
        exc = _from_service_error(exc)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, DataError):
        # A value the column cannot hold that validation let through: the caller's input.
        exc = exceptions.ValidationError(
            {"non_field_errors": ["A value is too long or out of range."]}
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
    # Imported here, not with the module: loading rest_framework.views creates APIView,
    # whose class attributes import this module's parser and handler through DRF's
    # settings, so a module-level import fails whenever backend.api is imported first.
    from rest_framework.views import exception_handler as drf_exception_handler

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
    """Refuses keys it does not know, so a client cannot think it set a server field, and
    answers every problem of a request at once: unknown keys, each field's own errors, and
    the checks of `check()` on the fields that did parse (DRF alone runs `validate()` only
    once every field parsed, so a client fixing one round of errors meets the next)."""

    # Fields (and unknown keys) of the request being validated that did not parse.
    unparsed: frozenset[str] = frozenset()

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        """Rules across fields or against the database, by field name. `attrs` holds only
        the fields that parsed: a rule skips itself when a field it reads is `unparsed`."""
        return {}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)
        writable = {name for name, f in self.fields.items() if not f.read_only}
        errors: dict[str, Any] = {
            key: ["Unknown or read-only field."] for key in set(data) - writable
        }
        attrs: dict[str, Any] = {}
        # DRF's own loop, kept going past errors so check() sees what did parse.
        for field in self._writable_fields:
            name = cast(str, field.field_name)  # bound fields always have one
            validate_method = getattr(self, "validate_" + name, None)
            raw = data.get(name)
            if isinstance(field, serializers.CharField) and not isinstance(raw, str | None):
                # DRF would turn 42 into "42": the schema says a string, so a number is
                # an error, as every generated client expects.
                errors[name] = ["Not a valid string."]
                continue
            try:
                value = field.run_validation(field.get_value(data))
                if validate_method is not None:
                    value = validate_method(value)
            except serializers.ValidationError as exc:
                errors[name] = exc.detail
            except DjangoValidationError as exc:
                errors[name] = get_error_detail(exc)
            except SkipField:
                pass
            else:
                self.set_value(attrs, field.source_attrs, value)
        self.unparsed = frozenset(errors)
        for name, messages in self.check(attrs).items():
            if name not in errors:  # a field that did not parse already says why
                errors[name] = messages
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class BoundedIntegerField(serializers.IntegerField):
    """A whole number a 64-bit column holds (or the narrower range the field gives):
    a bigger one would overflow SQLite's integers instead of answering 400."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", MIN_INTEGER)
        kwargs.setdefault("max_value", MAX_INTEGER)
        super().__init__(**kwargs)


class BoundedDateField(serializers.DateField):
    """A date in the accepted range (backend.bounds), so arithmetic on it cannot overflow."""

    default_error_messages = {"range": DATE_RANGE_MESSAGE}

    def to_internal_value(self, value: Any) -> date:
        result: date = super().to_internal_value(value)
        if not date_in_range(result):
            self.fail("range")
        return result


class BoundedDateTimeField(serializers.DateTimeField):
    """An instant in the accepted range (backend.bounds), checked before it is converted to
    UTC: 9999-12-31T23:59-14:00 is a valid string with no UTC equivalent."""

    default_error_messages = {"range": DATE_RANGE_MESSAGE}

    def enforce_timezone(self, value: datetime) -> datetime:
        if not instant_in_range(value):
            self.fail("range")
        result: datetime = super().enforce_timezone(value)
        return result


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    # Model fields become bounded serializer fields, so no input a model takes overflows.
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        **{
            model_field: BoundedIntegerField
            for model_field, field in serializers.ModelSerializer.serializer_field_mapping.items()
            if field is serializers.IntegerField
        },
        models.DateField: BoundedDateField,
        models.DateTimeField: BoundedDateTimeField,
    }


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


class UpdatedSinceQuery(serializers.Serializer):  # query parameters: page ones pass too
    """`updated_since` of a synced list; each list documents what changed means for it
    (`updated_since_parameter`)."""

    updated_since = BoundedDateTimeField(required=False)


def updated_since_parameter(meaning: str) -> OpenApiParameter:
    """The schema of a synced list's `updated_since`: `meaning` says what comes back."""
    return OpenApiParameter(
        "updated_since",
        OpenApiTypes.DATETIME,
        description=f"{meaning} Pass the `synced_at` of the previous sync.",
    )


def updated_since_query(request: Any) -> datetime | None:
    """The `updated_since` of a synced list, or a 400 naming it."""
    query = UpdatedSinceQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    since: datetime | None = query.validated_data.get("updated_since")
    return since
