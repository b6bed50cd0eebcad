"""Serializer and permission building blocks shared by the recovery API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import django_filters
from django import forms
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, permissions, serializers
from rest_framework.relations import MANY_RELATION_KWARGS
from rest_framework.request import Request
from rest_framework.views import APIView

from backend.api import BoundedDateField as BoundedDateField  # re-exported
from backend.api import (
    BoundedDateTimeField,
    StrictSerializer,
)
from backend.api import StrictModelSerializer as StrictModelSerializer  # re-exported
from backend.bounds import (
    DATE_RANGE_MESSAGE,
    MAX_ID,
    MAX_INTEGER,
    MIN_INTEGER,
    date_in_range,
    id_text_in_range,
    instant_in_range,
)
from backend.timezones import known_timezones
from recovery.models import Role, User
from recovery.selectors.access import is_program_staff


class AwareDateTimeField(BoundedDateTimeField):
    """A datetime that must say its UTC offset: a naive time is ambiguous, so refused."""

    default_error_messages = {
        "naive": "Include a UTC offset or Z, for example 2026-03-08T18:00:00-05:00.",
    }

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            from django.utils.dateparse import parse_datetime

            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        result: datetime = super().to_internal_value(value)
        return result


def parse_instant_param(raw: str, name: str) -> datetime:
    """A query-string instant: ISO 8601 with an offset, in range, else a 400 naming it."""
    try:
        result: datetime = AwareDateTimeField().run_validation(raw)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({name: exc.detail}) from None
    return result


class BoundedListField(serializers.ListField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 50)
        super().__init__(**kwargs)


class IdField(serializers.IntegerField):
    """The id of a row: a whole number from 1 to 2^63 - 1."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class BoundedNumberFilter(django_filters.NumberFilter):
    """A whole-number filter within what a 64-bit column holds: `?actor=1e30` is a 400,
    not an overflow in the database driver."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", MIN_INTEGER)
        kwargs.setdefault("max_value", MAX_INTEGER)
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(BoundedNumberFilter):
    """A filter by id (`?patient=12`): whole numbers in the id range only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


# `?since=` names the filter but gives no value: refused, as the schema's date format says,
# rather than read as "no filter".
EMPTY_FILTER_MESSAGE = "Give a value, or leave the parameter out."


def _refuse_empty(value: Any) -> None:
    if value == "":
        raise forms.ValidationError(EMPTY_FILTER_MESSAGE, code="empty")


class _BoundedDateFormField(forms.DateField):
    def to_python(self, value: Any) -> Any:
        _refuse_empty(value)
        return super().to_python(value)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not date_in_range(value):
            raise forms.ValidationError(DATE_RANGE_MESSAGE, code="range")


class _BoundedDateTimeFormField(django_filters.fields.IsoDateTimeField):
    def to_python(self, value: Any) -> datetime | None:
        _refuse_empty(value)
        try:
            result: datetime | None = super().to_python(value)
        except OverflowError:  # a naive edge-of-calendar value made aware in a zone
            raise forms.ValidationError(DATE_RANGE_MESSAGE, code="range") from None
        if result is not None and not instant_in_range(result):
            raise forms.ValidationError(DATE_RANGE_MESSAGE, code="range")
        return result


class BoundedDateFilter(django_filters.DateFilter):
    """A date filter in the accepted range (backend.bounds)."""

    field_class = _BoundedDateFormField


class BoundedDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 instant filter in the accepted range (backend.bounds)."""

    field_class = _BoundedDateTimeFormField


class BoundedManyRelatedField(serializers.ManyRelatedField):
    """`many=True` of a primary-key relation, at most `max_items` long, resolved in one
    query (DRF's own field runs one query per id before any length check)."""

    default_error_messages = {
        **serializers.ManyRelatedField.default_error_messages,
        "max_length": "At most {max_length} items.",
    }

    def __init__(self, *args: Any, max_items: int = 200, **kwargs: Any) -> None:
        self.max_items = max_items
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data: Any) -> list[Any]:
        if isinstance(data, str | bytes | dict) or not hasattr(data, "__iter__"):
            self.fail("not_a_list", input_type=type(data).__name__)
        items = list(data)
        if not self.allow_empty and not items:
            self.fail("empty")
        if len(items) > self.max_items:
            self.fail("max_length", max_length=self.max_items)
        id_field = IdField()
        ids = list(dict.fromkeys(id_field.run_validation(item) for item in items))
        child = self.child_relation
        queryset = child.get_queryset()
        assert queryset is not None
        found = {obj.pk: obj for obj in queryset.filter(pk__in=ids)}
        for pk in ids:
            if pk not in found:
                child.fail("does_not_exist", pk_value=pk)
        return [found[pk] for pk in ids]


class BoundedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """With `many=True`, a `BoundedManyRelatedField` of at most `max_items` ids."""

    max_items = 200

    @classmethod
    def many_init(cls, *args: Any, **kwargs: Any) -> BoundedManyRelatedField:
        list_kwargs: dict[str, Any] = {"child_relation": cls(*args, **kwargs)}
        for key in kwargs:
            if key in MANY_RELATION_KWARGS:
                list_kwargs[key] = kwargs[key]
        return BoundedManyRelatedField(max_items=cls.max_items, **list_kwargs)


class EmptyBodySerializer(StrictSerializer):
    """An action that takes no input still refuses input it would silently ignore."""


def validate_zone_name(value: str) -> str:
    """An IANA time zone name (the list is read from disk once, not on every request)."""
    if value not in known_timezones():
        raise serializers.ValidationError("Not an IANA time zone.")
    return value


def acting_user(request: Any) -> User:
    """The caller, typed. Views run behind IsAuthenticated, so this is a real user; only
    schema generation passes an AnonymousUser, which the selectors answer with nothing."""
    return cast("User", request.user)


def program_of(user: User) -> int:
    """The program of a staff member; IsClinician guarantees there is one."""
    if user.program_id is None:
        raise exceptions.PermissionDenied("Only program staff can do this.")
    return user.program_id


def staff_writes(view: APIView) -> list[Any]:
    """Permissions of a view everyone signed in reads and only staff write."""
    if view.request.method in permissions.SAFE_METHODS:
        return [permission() for permission in view.permission_classes]
    return [IsClinician()]


def parse_id_param(raw: str, name: str) -> int:
    """A query-string id: ASCII digits in the id range, else a 400 naming the parameter."""
    if not id_text_in_range(raw):
        raise serializers.ValidationError({name: ["Give the patient id."]})
    return int(raw)


def refuse_body_if_any(request: Request) -> None:
    """Parse the body of an action that takes none: broken, oversized or non-empty bodies
    answer 400/413 instead of being silently ignored."""
    data = request.data
    if isinstance(data, dict) and not data:
        return
    EmptyBodySerializer(data=data).is_valid(raise_exception=True)


class IsPatient(permissions.BasePermission):
    message = "Only patients can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user.is_authenticated and request.user.role == Role.PATIENT)


class IsClinician(permissions.BasePermission):
    message = "Only counselors and supervisors can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_program_staff(request.user)


class PatientWritesStaffReads(permissions.BasePermission):
    """Patients write their own records; staff only read them."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not request.user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user.role == Role.PATIENT)
