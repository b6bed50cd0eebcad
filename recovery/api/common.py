"""Serializer and permission building blocks shared by the recovery API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from recovery.models import Role


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


class AwareDateTimeField(serializers.DateTimeField):
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


class BoundedListField(serializers.ListField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 50)
        super().__init__(**kwargs)


class IsPatient(permissions.BasePermission):
    message = "Only patients can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user.is_authenticated and request.user.role == Role.PATIENT)


class IsClinician(permissions.BasePermission):
    message = "Only counselors and supervisors can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(
            request.user.is_authenticated
            and request.user.role in (Role.COUNSELOR, Role.SUPERVISOR)
            and request.user.program_id is not None
        )


class PatientWritesStaffReads(permissions.BasePermission):
    """Patients write their own records; staff only read them."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not request.user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user.role == Role.PATIENT)
