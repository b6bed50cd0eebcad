"""Drug screens: counselors record them (a positive not prescribed, missed or refused
screen raises a flag); patients see their own, without the staff's note. Out of reach is
404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import request_user
from recovery.api.common import (
    BoundedDateField,
    BoundedDateFilter,
    IdField,
    IsClinician,
    StrictSerializer,
    acting_user,
)
from recovery.api.monitoring import patient_filter
from recovery.models import (
    DrugScreen,
    DrugScreenResult,
    Role,
    ScreenMethod,
    ScreenOutcome,
    ScreenStatus,
    ScreenSubstance,
    SubstanceResult,
)
from recovery.selectors.access import enrollments_visible_to, visible_enrollment
from recovery.selectors.plan import screens_visible_to
from recovery.services import screens as screen_services

# --- drug screens -----------------------------------------------------------------------


class ScreenResultSerializer(StrictSerializer):
    substance = serializers.ChoiceField(choices=ScreenSubstance.choices)
    result = serializers.ChoiceField(choices=SubstanceResult.choices)
    prescribed = serializers.BooleanField(
        required=False,
        default=False,
        help_text="An expected positive for a prescribed medication: raises no flag.",
    )


class ScreenResultReadSerializer(serializers.ModelSerializer):
    class Meta:
        model = DrugScreenResult
        fields = ["substance", "result", "prescribed"]


class ScreenSerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="enrollment_id", read_only=True)
    results = ScreenResultReadSerializer(many=True, read_only=True)

    class Meta:
        model = DrugScreen
        fields = [
            "id",
            "patient",
            "collected_on",
            "method",
            "status",
            "outcome",
            "observed",
            "results",
            "note",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields
        # Staff only: a patient's own screens leave them out (PatientScreenSerializer).
        optional_in_schema = ("note", "recorded_by")


class PatientScreenSerializer(ScreenSerializer):
    """What a patient sees of their own screen: the result, not the staff's note."""

    class Meta(ScreenSerializer.Meta):
        fields = [f for f in ScreenSerializer.Meta.fields if f not in ("note", "recorded_by")]
        read_only_fields = fields


class ScreenInputSerializer(StrictSerializer):
    patient = IdField()
    collected_on = BoundedDateField()
    method = serializers.ChoiceField(choices=ScreenMethod.choices)
    status = serializers.ChoiceField(
        choices=ScreenStatus.choices, required=False, default=ScreenStatus.COMPLETED
    )
    observed = serializers.BooleanField(required=False, allow_null=True, default=None)
    results = ScreenResultSerializer(many=True, required=False)
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)

    def validate_results(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > len(ScreenSubstance.choices):
            raise serializers.ValidationError("Each substance once.")
        return value

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        # A patient out of reach gets no rule that reads their record; the view answers 404.
        enrollment = (
            enrollments_visible_to(acting_user(self.context["request"]))
            .filter(id=attrs["patient"])
            .first()
            if "patient" in attrs
            else None
        )
        parsed = "results" not in self.unparsed
        return screen_services.screen_problems(
            enrollment=enrollment,
            collected_on=attrs.get("collected_on"),
            status=attrs.get("status"),
            results=(
                [screen_services.ResultInput(**r) for r in attrs.get("results", [])]
                if parsed
                else None
            ),
            observed=attrs.get("observed"),
            observed_given="observed" not in self.unparsed,
        )


class ScreenRecordedSerializer(ScreenSerializer):
    flags = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta(ScreenSerializer.Meta):
        fields = [*ScreenSerializer.Meta.fields, "flags"]
        read_only_fields = fields


class ScreenFilter(filters.FilterSet):
    patient = patient_filter()
    since = BoundedDateFilter(field_name="collected_on", lookup_expr="gte")
    until = BoundedDateFilter(field_name="collected_on", lookup_expr="lte")
    outcome = filters.MultipleChoiceFilter(choices=ScreenOutcome.choices)

    class Meta:
        model = DrugScreen
        fields = ["patient", "since", "until", "outcome"]


def _screen_serializer_for(request: Request) -> type[ScreenSerializer]:
    patient = getattr(request.user, "role", None) == Role.PATIENT
    return PatientScreenSerializer if patient else ScreenSerializer


class ScreenList(generics.ListAPIView):
    """Drug screens, newest first; patients see their own. POST records one (staff): a
    positive (not prescribed), missed or refused screen raises a flag."""

    serializer_class = ScreenSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_class = ScreenFilter
    queryset = DrugScreen.objects.none()

    def get_permissions(self) -> list[Any]:
        if self.request.method not in SAFE_METHODS:
            return [IsClinician()]
        return list(super().get_permissions())

    def get_serializer_class(self) -> Any:
        return _screen_serializer_for(self.request)

    def get_queryset(self) -> QuerySet[DrugScreen]:
        return screens_visible_to(request_user(self.request)).prefetch_related("results")

    @extend_schema(request=ScreenInputSerializer, responses={201: ScreenRecordedSerializer})
    def post(self, request: Request) -> Response:
        user = request_user(request)
        serializer = ScreenInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        enrollment = visible_enrollment(user, data.pop("patient"))
        results = [screen_services.ResultInput(**r) for r in data.pop("results", [])]
        recorded = screen_services.screen_record(
            enrollment=enrollment, actor=user, results=results, **data
        )
        body = dict(ScreenSerializer(recorded.screen).data)
        body["flags"] = [flag.kind for flag in recorded.flags]
        return Response(body, status=status.HTTP_201_CREATED)


class ScreenDetail(generics.RetrieveAPIView):
    serializer_class = ScreenSerializer

    def get_serializer_class(self) -> Any:
        return _screen_serializer_for(self.request)

    def get_queryset(self) -> QuerySet[DrugScreen]:
        return screens_visible_to(request_user(self.request)).prefetch_related("results")


class ScreenCorrectionSerializer(StrictSerializer):
    status = serializers.ChoiceField(
        choices=ScreenStatus.choices, required=False, default=ScreenStatus.COMPLETED
    )
    observed = serializers.BooleanField(required=False, allow_null=True, default=None)
    results = ScreenResultSerializer(many=True, required=False)

    def validate_results(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > len(ScreenSubstance.choices):
            raise serializers.ValidationError("Each substance once.")
        return value

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        parsed = "results" not in self.unparsed
        return screen_services.screen_problems(
            status=attrs.get("status"),
            results=(
                [screen_services.ResultInput(**r) for r in attrs.get("results", [])]
                if parsed
                else None
            ),
            observed=attrs.get("observed"),
            observed_given="observed" not in self.unparsed,
        )


class ScreenCorrect(APIView):
    """Staff correct a screen's results (a lab overturns a cup): the outcome is derived
    again, a new positive raises its flag, and a reward the old result earned is reversed
    by a visible ledger entry."""

    permission_classes = [IsClinician]

    @extend_schema(request=ScreenCorrectionSerializer, responses={200: ScreenRecordedSerializer})
    def post(self, request: Request, pk: int) -> Response:
        user = request_user(request)
        screen = screens_visible_to(user).filter(id=pk).select_related("enrollment").first()
        if screen is None:
            raise Http404
        serializer = ScreenCorrectionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        results = [screen_services.ResultInput(**r) for r in data.pop("results", [])]
        corrected = screen_services.screen_correct(
            screen=screen, actor=user, results=results, **data
        )
        body = dict(ScreenSerializer(corrected.screen).data)
        body["flags"] = [flag.kind for flag in corrected.flags]
        return Response(body)
