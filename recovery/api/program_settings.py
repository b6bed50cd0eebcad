"""The program's settings: its staff read them, its supervisors change them (PATCH, any
subset of the fields). Every change is validated, audited with its old and new value and
counts at once (`recovery.services.program_settings`)."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import BoundedIntegerField, LocalTimeField, StrictSerializer, request_user
from recovery.api.common import BoundedListField
from recovery.api.monitoring import StaffReadSupervisorsChange
from recovery.selectors.program_settings import program_settings
from recovery.services.audit import RequestMeta
from recovery.services.program_settings import MAX_REMINDERS, program_settings_update

WEEK_MINUTES = 7 * 24 * 60


class ProgramSettingsSerializer(StrictSerializer):
    """Every field optional on a change; the ranges are the program's own rules."""

    reminder_offsets_minutes = BoundedListField(
        child=BoundedIntegerField(min_value=1, max_value=WEEK_MINUTES),
        max_length=MAX_REMINDERS,
        required=False,
        help_text="Minutes before a session that its patients are reminded.",
    )
    checkin_opens_at = LocalTimeField(required=False)
    checkin_due_by = LocalTimeField(required=False)
    checkin_grace_minutes = BoundedIntegerField(min_value=0, max_value=12 * 60, required=False)
    nudge_before_due_minutes = BoundedIntegerField(min_value=5, max_value=12 * 60, required=False)
    quiet_start = LocalTimeField(required=False, allow_null=True)
    quiet_end = LocalTimeField(required=False, allow_null=True)
    craving_threshold = BoundedIntegerField(min_value=1, max_value=10, required=False)
    app_silent_after_days = BoundedIntegerField(min_value=1, max_value=60, required=False)
    escalation_delay_minutes = BoundedIntegerField(
        min_value=5, max_value=WEEK_MINUTES, required=False
    )
    crisis_escalation_delay_minutes = BoundedIntegerField(
        min_value=1, max_value=24 * 60, required=False
    )
    required_hours_per_week = serializers.DecimalField(
        max_digits=4, decimal_places=1, min_value=Decimal(9), max_value=Decimal(30), required=False
    )
    days_per_week = BoundedIntegerField(min_value=3, max_value=5, required=False)
    service_day_min_hours = serializers.DecimalField(
        max_digits=3,
        decimal_places=1,
        min_value=Decimal("0.5"),
        max_value=Decimal(12),
        required=False,
        help_text="Hours attended that make a local date a billable IOP service day.",
    )
    service_week_min_days = BoundedIntegerField(
        min_value=1,
        max_value=7,
        required=False,
        help_text="Service days that make a week qualify (an IOP per diem: 3).",
    )
    require_staff_2fa = serializers.BooleanField(required=False)
    missed_dose_days = BoundedIntegerField(min_value=1, max_value=30, required=False)
    unreported_dose_counts_as_missed = serializers.BooleanField(required=False)
    suggestion_window_days = BoundedIntegerField(min_value=7, max_value=90, required=False)
    suggestion_min_checkin_adherence = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        min_value=Decimal("0.1"),
        max_value=Decimal(1),
        required=False,
    )
    step_up_use_events = BoundedIntegerField(min_value=1, max_value=30, required=False)


class ProgramSettingsView(APIView):
    permission_classes = [StaffReadSupervisorsChange]

    @extend_schema(responses={200: ProgramSettingsSerializer})
    def get(self, request: Request) -> Response:
        user = request_user(request)
        assert user.program is not None  # IsClinician requires a program
        return Response(ProgramSettingsSerializer(program_settings(user.program)).data)

    @extend_schema(request=ProgramSettingsSerializer, responses={200: ProgramSettingsSerializer})
    def patch(self, request: Request) -> Response:
        user = request_user(request)
        assert user.program is not None
        serializer = ProgramSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        program = program_settings_update(
            program=user.program,
            actor=user,
            data=dict(serializer.validated_data),
            meta=RequestMeta.of(request),
        )
        return Response(ProgramSettingsSerializer(program_settings(program)).data)
