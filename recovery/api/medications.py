"""Medications, including MOUD and MAUD: staff keep the list, the patient reads their own
and sets their reminder time; daily adherence from the check-in. Out of reach is 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import LocalTimeField, request_user
from recovery.api.common import IdField, IsClinician, StrictModelSerializer, acting_user
from recovery.api.monitoring import PATIENT_PARAMETER, enrollment_asked_for, patient_filter
from recovery.dates import enrollment_today
from recovery.models import Medication, MedicationCategory
from recovery.selectors.access import enrollments_visible_to, visible_enrollment
from recovery.selectors.monitoring import medication_adherence
from recovery.selectors.plan import medications_visible_to
from recovery.services import medications as medication_services

# --- medications ------------------------------------------------------------------------


class MedicationSerializer(StrictModelSerializer):
    patient = IdField(source="enrollment_id")
    category = serializers.ChoiceField(
        choices=MedicationCategory.choices,
        required=False,
        help_text="Left out: moud or maud for the known names (buprenorphine, methadone, "
        "naltrexone, acamprosate, disulfiram ...), other otherwise.",
    )
    is_current = serializers.SerializerMethodField()
    reminder_time = LocalTimeField(required=False, allow_null=True)

    class Meta:
        model = Medication
        fields = [
            "id",
            "patient",
            "name",
            "category",
            "dose",
            "prescriber",
            "start_date",
            "end_date",
            "reminder_time",
            "is_current",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "is_current", "created_by", "created_at", "updated_at"]

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        # A patient out of reach gets no rule that reads their record; the view answers 404.
        enrollment = (
            enrollments_visible_to(acting_user(self.context["request"]))
            .filter(id=attrs["enrollment_id"])
            .first()
            if "enrollment_id" in attrs
            else None
        )
        return medication_services.medication_problems(
            enrollment=enrollment,
            start_date=attrs.get("start_date"),
            end_date=attrs.get("end_date"),
            name=attrs.get("name"),
        )

    def get_is_current(self, obj: Medication) -> bool:
        today = enrollment_today(obj.enrollment)
        return obj.start_date <= today and (obj.end_date is None or today <= obj.end_date)


class MedicationUpdateSerializer(StrictModelSerializer):
    reminder_time = LocalTimeField(required=False, allow_null=True)

    class Meta:
        model = Medication
        fields = ["name", "category", "dose", "prescriber", "end_date", "reminder_time"]
        extra_kwargs = {name: {"required": False} for name in fields}

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        return medication_services.medication_update_problems(
            medication=self.context["medication"],
            actor=acting_user(self.context["request"]),
            data=attrs,
        )


class MedicationFilter(filters.FilterSet):
    patient = patient_filter()

    class Meta:
        model = Medication
        fields = ["patient"]


class MedicationList(generics.ListCreateAPIView):
    """The patient's medications, including MOUD and MAUD. Staff add them; the patient
    reads their own. A `reminder_time` (local wall time) queues a daily reminder."""

    serializer_class = MedicationSerializer
    filterset_class = MedicationFilter
    queryset = Medication.objects.none()

    def get_permissions(self) -> list[Any]:
        if self.request.method not in SAFE_METHODS:
            return [IsClinician()]
        return list(super().get_permissions())

    def get_queryset(self) -> QuerySet[Medication]:
        return medications_visible_to(request_user(self.request)).select_related("enrollment")

    def perform_create(self, serializer: Any) -> None:
        user = request_user(self.request)
        data = dict(serializer.validated_data)
        enrollment = visible_enrollment(user, data.pop("enrollment_id"))
        serializer.instance = medication_services.medication_add(
            enrollment=enrollment, actor=user, **data
        )


class MedicationDetail(generics.RetrieveAPIView):
    """One medication. PATCH: staff change any field but the start; the patient only sets
    or clears their reminder time."""

    serializer_class = MedicationSerializer

    def get_queryset(self) -> QuerySet[Medication]:
        return medications_visible_to(request_user(self.request)).select_related("enrollment")

    @extend_schema(request=MedicationUpdateSerializer, responses={200: MedicationSerializer})
    def patch(self, request: Request, pk: int) -> Response:
        medication = self.get_object()
        serializer = MedicationUpdateSerializer(
            data=request.data,
            partial=True,
            context={"request": request, "medication": medication},
        )
        serializer.is_valid(raise_exception=True)
        medication = medication_services.medication_update(
            medication=medication,
            actor=request_user(request),
            data=dict(serializer.validated_data),
        )
        return Response(MedicationSerializer(medication).data)


class AdherenceDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    status = serializers.ChoiceField(choices=["taken", "missed", "unreported", "pending"])


class AdherenceSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    from_date = serializers.DateField()
    to_date = serializers.DateField()
    days_on_medication = serializers.IntegerField()
    taken = serializers.IntegerField()
    missed = serializers.IntegerField()
    unreported = serializers.IntegerField()
    adherence = serializers.FloatField(allow_null=True, help_text="Taken over days on medication.")
    reported_adherence = serializers.FloatField(
        allow_null=True, help_text="Taken over days the check-in answered."
    )
    days = AdherenceDaySerializer(many=True)


class MedicationAdherence(APIView):
    """Daily doses from the check-in's `medication_taken`, over 7 to 90 days (default 28)."""

    @extend_schema(
        parameters=[
            PATIENT_PARAMETER,
            OpenApiParameter(
                "days",
                {"type": "integer", "minimum": 7, "maximum": 90, "default": 28},
                description="7 to 90, default 28.",
            ),
        ],
        responses={200: AdherenceSerializer},
    )
    def get(self, request: Request) -> Response:
        enrollment = enrollment_asked_for(request)
        raw = request.query_params.get("days", "28")
        if not (raw.isascii() and raw.isdigit()) or not 7 <= int(raw) <= 90:
            raise ValidationError({"days": ["A whole number from 7 to 90."]})
        summary = medication_adherence(enrollment=enrollment, days=int(raw))
        return Response(AdherenceSerializer({"patient": enrollment.id, **summary}).data)
