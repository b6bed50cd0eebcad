"""Check-ins, urges and the check-in schedule."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import BoundedDateTimeField, LocalTimeField, SyncPagination, request_user
from recovery.api.cards import ContactCardSerializer, SafetyPlanReadSerializer
from recovery.api.common import (
    AwareDateTimeField,
    BoundedListField,
    IsPatient,
    PatientWritesStaffReads,
    StrictModelSerializer,
    acting_user,
    parse_id_param,
    validate_zone_name,
)
from recovery.api.filters import patient_and_range
from recovery.crisis import crisis_resources
from recovery.models import CheckIn, CheckInSchedule, Trigger, UrgeEvent
from recovery.models.exercises import ExerciseCategory
from recovery.models.monitoring import ScreenSubstance
from recovery.selectors.access import enrollment_for_patient_user, records_visible_to
from recovery.selectors.care import urge_toolkit
from recovery.selectors.safety_plan import safety_plan_view
from recovery.services.checkins import checkin_problems, checkin_submit, urge_record

MAX_FUTURE_SKEW = timedelta(minutes=5)
MAX_AGE = timedelta(days=14)


class CrisisResourceSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()
    sms = serializers.CharField()
    description = serializers.CharField()


class ExerciseCardSerializer(serializers.Serializer):
    """An exercise as the urge button offers it, and why it is offered."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    category = serializers.ChoiceField(choices=ExerciseCategory.choices)
    summary = serializers.CharField()
    steps = serializers.ListField(child=serializers.CharField())
    duration_minutes = serializers.IntegerField(min_value=1, max_value=120)
    reason = serializers.ChoiceField(
        choices=["favorite", "assigned", "first_line"],
        help_text="A favourite, assigned by the care team, or one of the library's first-line "
        "skills (offered when the patient has neither).",
    )


@extend_schema_field(
    {
        "type": "number",
        "format": "double",
        "minimum": 0,
        "maximum": 24,
        "nullable": True,
        "example": 7.5,
        "description": "Hours, kept to one decimal (7.55 is stored as 7.6).",
    }
)
class HoursField(serializers.DecimalField):
    """Hours as a JSON number, rounded to one decimal: a client's float (7.55 is really
    7.5499999...) cannot promise an exact decimal, so the server rounds instead of refusing."""

    STEP = Decimal("0.1")
    LIMIT = Decimal(100)  # three digits, one of them after the point

    def validate_precision(self, value: Decimal) -> Decimal:
        # Quantizing a huge number raises InvalidOperation: refuse those first.
        if abs(value) >= self.LIMIT:
            self.fail("max_whole_digits", max_whole_digits=self.max_whole_digits)
        rounded = value.quantize(self.STEP, rounding=ROUND_HALF_UP)
        return cast(Decimal, super().validate_precision(rounded))

    def to_representation(self, value: Any) -> Any:  # a number, not DRF's string
        return None if value is None else float(value)


class CheckInSerializer(StrictModelSerializer):
    id = serializers.UUIDField(source="client_id", help_text="The client's own UUID.")
    patient = serializers.IntegerField(source="enrollment_id", read_only=True)
    device_time = AwareDateTimeField()
    device_timezone = serializers.CharField(max_length=64)
    substances = BoundedListField(
        child=serializers.ChoiceField(choices=ScreenSubstance.choices),
        max_length=10,
        required=False,
        default=list,
    )
    triggers = BoundedListField(
        child=serializers.ChoiceField(choices=Trigger.choices),
        max_length=len(Trigger.choices),
        required=False,
        default=list,
    )
    hours_slept = HoursField(
        max_digits=3, decimal_places=1, min_value=0, max_value=24, required=False, allow_null=True
    )

    class Meta:
        model = CheckIn
        fields = [
            "id",
            "patient",
            "mood",
            "craving",
            "used_substance",
            "substances",
            "triggers",
            "trigger_other",
            "hours_slept",
            "medication_taken",
            "self_harm_thoughts",
            "note",
            "device_time",
            "device_timezone",
            "received_at",
            "is_late",
        ]
        read_only_fields = ["patient", "received_at", "is_late"]

    def validate_device_timezone(self, value: str) -> str:
        return validate_zone_name(value)

    def validate_device_time(self, value: Any) -> Any:
        now = timezone.now()
        if value > now + MAX_FUTURE_SKEW:
            raise serializers.ValidationError("Cannot be in the future.")
        if value < now - MAX_AGE:
            raise serializers.ValidationError("Older than 14 days; ask your counselor.")
        return value

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        # The view gives the patient's enrollment: the medication rule reads their record.
        return checkin_problems(
            enrollment=self.context.get("enrollment"),
            used_substance=(
                None if "used_substance" in self.unparsed else attrs.get("used_substance", False)
            ),
            substances=attrs.get("substances"),
            medication_taken=attrs.get("medication_taken"),
        )


class CheckInResponseSerializer(CheckInSerializer):
    crisis_resources = CrisisResourceSerializer(many=True, allow_null=True, read_only=True)

    class Meta(CheckInSerializer.Meta):
        fields = [*CheckInSerializer.Meta.fields, "crisis_resources"]


class CheckInSyncSerializer(serializers.Serializer):  # query parameters
    updated_since = BoundedDateTimeField(
        required=False,
        help_text="Only check-ins received at or after this instant: pass the `synced_at` "
        "of the previous sync.",
    )


class CheckInListCreate(generics.ListCreateAPIView):
    """Patients submit check-ins (idempotent by `id`); staff read their caseload's."""

    serializer_class = CheckInSerializer
    permission_classes = [PatientWritesStaffReads]
    filterset_class = patient_and_range("device_time")
    pagination_class = SyncPagination

    def get_queryset(self) -> QuerySet[CheckIn]:
        found = records_visible_to(acting_user(self.request), CheckIn.objects.all())
        if self.request.method != "GET":
            return found
        query = CheckInSyncSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        since = query.validated_data.get("updated_since")
        # Check-ins are never edited or deleted: what changed is what arrived.
        return found if since is None else found.filter(received_at__gte=since)

    @extend_schema(parameters=[CheckInSyncSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=CheckInSerializer,
        responses={201: CheckInResponseSerializer},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        enrollment = enrollment_for_patient_user(request_user(request))
        serializer = CheckInSerializer(data=request.data, context={"enrollment": enrollment})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        client_id = data.pop("client_id")
        result = checkin_submit(enrollment=enrollment, client_id=client_id, data=data)
        body = CheckInSerializer(result.checkin).data
        body["crisis_resources"] = crisis_resources() if result.crisis else None
        headers = {} if result.created else {"Idempotent-Replayed": "true"}
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)


class CheckInDetail(generics.RetrieveAPIView):
    """One check-in by the client's id. Client ids are unique per patient only: staff who
    see two patients that used the same id name the patient with `?patient=`."""

    serializer_class = CheckInSerializer

    def get_queryset(self) -> QuerySet[CheckIn]:
        return records_visible_to(acting_user(self.request), CheckIn.objects.all())

    @extend_schema(parameters=[OpenApiParameter("patient", int, description="Staff: patient id.")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_object(self) -> CheckIn:
        qs = self.get_queryset().filter(client_id=self.kwargs["checkin_id"])
        raw = self.request.query_params.get("patient")
        if raw is not None:
            qs = qs.filter(enrollment_id=parse_id_param(raw, "patient"))
        found = list(qs[:2])
        if not found:
            raise Http404
        if len(found) > 1:
            raise serializers.ValidationError(
                {"patient": ["Several patients used this id; give the patient id."]}
            )
        return found[0]


class UrgeSerializer(StrictModelSerializer):
    patient = serializers.IntegerField(source="enrollment_id", read_only=True)

    class Meta:
        model = UrgeEvent
        fields = ["id", "patient", "intensity", "note", "occurred_at"]
        read_only_fields = ["id", "patient", "occurred_at"]


class UrgeList(generics.ListCreateAPIView):
    """The urge button. POST answers with everything that helps right now."""

    serializer_class = UrgeSerializer
    permission_classes = [PatientWritesStaffReads]
    filterset_class = patient_and_range("occurred_at")

    def get_queryset(self) -> QuerySet[UrgeEvent]:
        return records_visible_to(acting_user(self.request), UrgeEvent.objects.all())

    @extend_schema(
        request=UrgeSerializer,
        responses={
            201: inline_serializer(
                "UrgeResponse",
                {
                    "safety_plan": SafetyPlanReadSerializer(),
                    "urge": UrgeSerializer(),
                    "exercises": ExerciseCardSerializer(many=True),
                    "support_contacts": ContactCardSerializer(many=True),
                    "crisis_resources": CrisisResourceSerializer(many=True),
                },
            )
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        enrollment = enrollment_for_patient_user(request_user(request))
        serializer = UrgeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = urge_record(enrollment=enrollment, **serializer.validated_data)
        # The patient's own plan first, then the exercises, contacts and crisis lines.
        return Response(
            {
                "safety_plan": safety_plan_view(enrollment),
                "urge": UrgeSerializer(result.urge).data,
                **urge_toolkit(enrollment=enrollment),
            },
            status=status.HTTP_201_CREATED,
        )


class ScheduleSerializer(StrictModelSerializer):
    opens_at = LocalTimeField()
    due_by = LocalTimeField()
    days_of_week = BoundedListField(
        child=serializers.IntegerField(min_value=1, max_value=7), min_length=1, max_length=7
    )
    grace_minutes = serializers.IntegerField(min_value=0, max_value=12 * 60)

    class Meta:
        model = CheckInSchedule
        fields = [
            "opens_at",
            "due_by",
            "days_of_week",
            "grace_minutes",
            "paused",
            "paused_reason",
            "next_due_at",
        ]
        read_only_fields = ["next_due_at"]

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        if {"opens_at", "due_by"} & self.unparsed:
            return {}
        if attrs.get("opens_at") == attrs.get("due_by"):
            return {"due_by": ["Must differ from opens_at."]}
        return {}


class ScheduleViewBase(APIView):
    def schedule_response(self, schedule: CheckInSchedule | None) -> Response:
        if schedule is None:
            return Response(
                {"error": {"code": "not_found", "message": "No schedule yet.", "fields": {}}},
                status=404,
            )
        return Response(ScheduleSerializer(schedule).data)


class MyCheckInSchedule(ScheduleViewBase):
    permission_classes = [IsPatient]

    @extend_schema(responses={200: ScheduleSerializer})
    def get(self, request: Request) -> Response:
        enrollment = enrollment_for_patient_user(request_user(request))
        return self.schedule_response(CheckInSchedule.objects.filter(enrollment=enrollment).first())

    @extend_schema(request=ScheduleSerializer, responses={200: ScheduleSerializer})
    def put(self, request: Request) -> Response:
        from recovery.services.schedules import checkin_schedule_set

        enrollment = enrollment_for_patient_user(request_user(request))
        serializer = ScheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self.schedule_response(
            checkin_schedule_set(enrollment=enrollment, **serializer.validated_data)
        )
