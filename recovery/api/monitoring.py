"""Peer support, drug screens and medications.

Patients log their mutual-help meetings and see their own screens and medications;
counselors record screens and keep the medication list; supervisors set the program's
thresholds. Out of reach is 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import request_user
from recovery.api.common import (
    IsClinician,
    PatientWritesStaffReads,
    StrictModelSerializer,
    StrictSerializer,
)
from recovery.models import (
    DrugScreen,
    DrugScreenResult,
    Enrollment,
    Medication,
    MedicationCategory,
    MutualHelpMeeting,
    ProgramMonitoringSettings,
    Role,
    ScreenMethod,
    ScreenOutcome,
    ScreenStatus,
    ScreenSubstance,
    SubstanceResult,
)
from recovery.selectors.access import enrollment_for_patient_user, visible_enrollment
from recovery.selectors.plan import (
    medication_adherence,
    medications_visible_to,
    meetings_visible_to,
    meetings_weekly,
    monitoring_settings_of,
    screens_visible_to,
    today_for,
)
from recovery.services import monitoring as monitoring_services


def _enrollment_asked_for(request: Request) -> Enrollment:
    """A patient asks about themself; staff name the patient with ?patient=."""
    user = request_user(request)
    if user.role == Role.PATIENT:
        return enrollment_for_patient_user(user)
    raw = request.query_params.get("patient", "")
    if not (raw.isascii() and raw.isdigit()):
        raise ValidationError({"patient": ["Give the patient id."]})
    return visible_enrollment(user, int(raw))


MAX_ID = 2**63 - 1

PATIENT_PARAMETER = OpenApiParameter(
    "patient", int, description="Staff: the patient id (patients get their own)."
)


def patient_filter() -> filters.NumberFilter:
    """?patient=<id>, bounded so that an absurd id is a 400, not a database overflow."""
    return filters.NumberFilter(
        field_name="enrollment", help_text="Patient id.", min_value=1, max_value=MAX_ID
    )


class MeetingFilter(filters.FilterSet):
    patient = patient_filter()
    since = filters.DateFilter(field_name="attended_on", lookup_expr="gte")
    until = filters.DateFilter(field_name="attended_on", lookup_expr="lte")

    class Meta:
        model = MutualHelpMeeting
        fields = ["patient", "since", "until"]


# --- mutual-help meetings ---------------------------------------------------------------


class MeetingSerializer(StrictModelSerializer):
    patient = serializers.IntegerField(source="enrollment_id", read_only=True)

    class Meta:
        model = MutualHelpMeeting
        fields = [
            "id",
            "patient",
            "fellowship",
            "fellowship_other",
            "format",
            "attended_on",
            "note",
            "logged_at",
        ]
        read_only_fields = ["id", "patient", "logged_at"]


class MeetingList(generics.ListCreateAPIView):
    """Mutual-help meetings (AA, NA, SMART Recovery, Refuge Recovery, other), newest first.
    Patients log their own; staff read those in reach."""

    serializer_class = MeetingSerializer
    permission_classes = [PatientWritesStaffReads]
    filterset_class = MeetingFilter
    queryset = MutualHelpMeeting.objects.none()

    def get_queryset(self) -> QuerySet[MutualHelpMeeting]:
        return meetings_visible_to(request_user(self.request))

    def perform_create(self, serializer: Any) -> None:
        enrollment = enrollment_for_patient_user(request_user(self.request))
        data = dict(serializer.validated_data)
        serializer.instance = monitoring_services.meeting_log(
            enrollment=enrollment, meeting_format=data.pop("format"), **data
        )


class MeetingDetail(generics.RetrieveDestroyAPIView):
    """One meeting; the patient may delete one logged by mistake."""

    serializer_class = MeetingSerializer
    permission_classes = [PatientWritesStaffReads]

    def get_queryset(self) -> QuerySet[MutualHelpMeeting]:
        return meetings_visible_to(request_user(self.request))

    def perform_destroy(self, instance: MutualHelpMeeting) -> None:
        monitoring_services.meeting_delete(meeting=instance)


class WeeklyMeetingsSerializer(serializers.Serializer):
    week_start = serializers.DateField()
    meetings = serializers.IntegerField()
    online = serializers.IntegerField()


class MeetingWeekly(APIView):
    """Meetings per week (Monday to Sunday, local), this week first, 12 weeks."""

    @extend_schema(
        parameters=[PATIENT_PARAMETER],
        responses={
            200: inline_serializer(
                "MeetingWeeks",
                {
                    "patient": serializers.IntegerField(),
                    "weeks": WeeklyMeetingsSerializer(many=True),
                },
            )
        },
    )
    def get(self, request: Request) -> Response:
        enrollment = _enrollment_asked_for(request)
        weeks = meetings_weekly(enrollment=enrollment)
        return Response(
            {"patient": enrollment.id, "weeks": WeeklyMeetingsSerializer(weeks, many=True).data}
        )


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


class PatientScreenSerializer(ScreenSerializer):
    """What a patient sees of their own screen: the result, not the staff's note."""

    class Meta(ScreenSerializer.Meta):
        fields = [f for f in ScreenSerializer.Meta.fields if f not in ("note", "recorded_by")]
        read_only_fields = fields


class ScreenInputSerializer(StrictSerializer):
    patient = serializers.IntegerField()
    collected_on = serializers.DateField()
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


class ScreenRecordedSerializer(ScreenSerializer):
    flags = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta(ScreenSerializer.Meta):
        fields = [*ScreenSerializer.Meta.fields, "flags"]
        read_only_fields = fields


class ScreenFilter(filters.FilterSet):
    patient = patient_filter()
    since = filters.DateFilter(field_name="collected_on", lookup_expr="gte")
    until = filters.DateFilter(field_name="collected_on", lookup_expr="lte")
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
        serializer = ScreenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        enrollment = visible_enrollment(user, data.pop("patient"))
        results = [monitoring_services.ResultInput(**r) for r in data.pop("results", [])]
        recorded = monitoring_services.screen_record(
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


# --- medications ------------------------------------------------------------------------


class MedicationSerializer(StrictModelSerializer):
    patient = serializers.IntegerField(source="enrollment_id")
    category = serializers.ChoiceField(
        choices=MedicationCategory.choices,
        required=False,
        help_text="Left out: moud or maud for the known names (buprenorphine, methadone, "
        "naltrexone, acamprosate, disulfiram ...), other otherwise.",
    )
    is_current = serializers.SerializerMethodField()

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

    def get_is_current(self, obj: Medication) -> bool:
        today = today_for(obj.enrollment)
        return obj.start_date <= today and (obj.end_date is None or today <= obj.end_date)


class MedicationUpdateSerializer(StrictModelSerializer):
    class Meta:
        model = Medication
        fields = ["name", "category", "dose", "prescriber", "end_date", "reminder_time"]
        extra_kwargs = {name: {"required": False} for name in fields}


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
        serializer.instance = monitoring_services.medication_add(
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
        serializer = MedicationUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        medication = monitoring_services.medication_update(
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
            OpenApiParameter("days", int, description="7 to 90, default 28."),
        ],
        responses={200: AdherenceSerializer},
    )
    def get(self, request: Request) -> Response:
        enrollment = _enrollment_asked_for(request)
        raw = request.query_params.get("days", "28")
        if not (raw.isascii() and raw.isdigit()) or not 7 <= int(raw) <= 90:
            raise ValidationError({"days": ["A whole number from 7 to 90."]})
        summary = medication_adherence(enrollment=enrollment, days=int(raw))
        return Response(AdherenceSerializer({"patient": enrollment.id, **summary}).data)


# --- program thresholds -----------------------------------------------------------------


class IsSupervisorToWrite(IsClinician):
    message = "Only supervisors change the program's settings."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        return (
            request.method in SAFE_METHODS or getattr(request.user, "role", "") == Role.SUPERVISOR
        )


class MonitoringSettingsSerializer(StrictModelSerializer):
    class Meta:
        model = ProgramMonitoringSettings
        fields = [
            "missed_dose_days",
            "unreported_dose_counts_as_missed",
            "suggestion_window_days",
            "suggestion_min_checkin_adherence",
            "step_up_use_events",
            "updated_by",
            "updated_at",
        ]
        read_only_fields = ["updated_by", "updated_at"]


class MonitoringSettingsView(APIView):
    """The program's thresholds: missed doses in a row before a flag; what a stage or
    level-of-care suggestion needs. Staff read; supervisors change."""

    permission_classes = [IsSupervisorToWrite]

    @extend_schema(responses={200: MonitoringSettingsSerializer})
    def get(self, request: Request) -> Response:
        user = request_user(request)
        assert user.program_id is not None
        return Response(MonitoringSettingsSerializer(monitoring_settings_of(user.program_id)).data)

    @extend_schema(
        request=MonitoringSettingsSerializer, responses={200: MonitoringSettingsSerializer}
    )
    def put(self, request: Request) -> Response:
        user = request_user(request)
        if user.program is None:  # pragma: no cover - IsClinician requires a program
            raise Http404
        serializer = MonitoringSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        found = monitoring_services.monitoring_settings_update(
            program=user.program, actor=user, data=dict(serializer.validated_data)
        )
        return Response(MonitoringSettingsSerializer(found).data)
