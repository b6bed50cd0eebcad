"""Staff views of patients: enrollment, care path, schedule, timeline."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import request_user
from recovery.api.checkins import ScheduleSerializer
from recovery.api.common import (
    BoundedDateField,
    IdField,
    IsClinician,
    StrictModelSerializer,
    StrictSerializer,
    acting_user,
    parse_instant_param,
    program_of,
    refuse_body_if_any,
    validate_zone_name,
)
from recovery.api.monitoring import enrollment_asked_for
from recovery.dates import enrollment_start_today
from recovery.models import (
    CheckInSchedule,
    Enrollment,
    EnrollmentChange,
    EnrollmentStatus,
    LevelOfCare,
    Stage,
)
from recovery.selectors.access import (
    assignable_staff,
    enrollments_visible_to,
    visible_enrollment,
)
from recovery.selectors.dashboard import attendance_counts, weekly_hours
from recovery.selectors.timeline import TimelineCursor, timeline
from recovery.services import enrollment as enrollment_services
from recovery.services.schedules import checkin_schedule_set


class EnrollmentSerializer(StrictModelSerializer):
    first_name = serializers.CharField(source="patient.first_name", read_only=True)
    last_name = serializers.CharField(source="patient.last_name", read_only=True)
    care_team = serializers.SerializerMethodField()

    class Meta:
        model = Enrollment
        fields = [
            "id",
            "first_name",
            "last_name",
            "program",
            "primary_counselor",
            "care_team",
            "level_of_care",
            "stage",
            "status",
            "timezone",
            "start_date",
            "expected_end_date",
            "has_medication",
            "discharged_at",
        ]
        read_only_fields = [
            "id",
            "program",
            "primary_counselor",
            "level_of_care",
            "stage",
            "status",
            "start_date",
            "discharged_at",
        ]

    def get_care_team(self, obj: Enrollment) -> list[int]:
        return sorted(m.counselor_id for m in obj.members.all())

    def validate_timezone(self, value: str) -> str:
        return validate_zone_name(value)

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        return enrollment_services.enrollment_problems(
            start_date=self.instance.start_date if self.instance else None,
            expected_end_date=attrs.get("expected_end_date"),
        )


class EnrollSerializer(StrictSerializer):
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150, required=False, default="")
    timezone = serializers.CharField(max_length=64, required=False)
    level_of_care = serializers.ChoiceField(
        choices=LevelOfCare.choices, required=False, default=LevelOfCare.INTENSIVE_OUTPATIENT
    )
    start_date = BoundedDateField(required=False)
    expected_end_date = BoundedDateField(required=False)
    has_medication = serializers.BooleanField(required=False, default=False)
    care_team = serializers.ListField(child=IdField(), max_length=10, required=False, default=list)

    def validate_timezone(self, value: str) -> str:
        return validate_zone_name(value)

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        user = acting_user(self.context["request"])
        start_date = attrs.get("start_date")
        if start_date is None and user.program and not {"start_date", "timezone"} & self.unparsed:
            # Left out, the start is the patient's today, as patient_enroll will take it.
            start_date = enrollment_start_today(user.program, attrs.get("timezone"))
        errors = enrollment_services.enrollment_problems(
            program=user.program,
            level_of_care=attrs.get("level_of_care"),
            start_date=start_date,
            expected_end_date=attrs.get("expected_end_date"),
        )
        team_ids = set(attrs.get("care_team", []))
        known = assignable_staff(program_id=program_of(user)).filter(id__in=team_ids)
        if team_ids and known.count() != len(team_ids):
            errors["care_team"] = ["Unknown staff member."]
        return errors


class EnrollResponseSerializer(serializers.Serializer):
    patient = EnrollmentSerializer()
    enrollment_code = serializers.CharField()
    code_expires_at = serializers.DateTimeField()


class PatientList(generics.ListCreateAPIView):
    """Patients on your caseload (supervisors: the program). POST enrolls a patient and
    answers with their one-time enrollment code."""

    serializer_class = EnrollmentSerializer
    permission_classes = [IsClinician]

    def get_queryset(self) -> QuerySet[Enrollment]:
        qs = enrollments_visible_to(acting_user(self.request)).prefetch_related("members")
        status_filter = self.request.query_params.get("status")
        if status_filter in EnrollmentStatus.values:
            qs = qs.filter(status=status_filter)
        return qs.order_by("patient__last_name", "id")

    @extend_schema(request=EnrollSerializer, responses={201: EnrollResponseSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = EnrollSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        team_ids = data.pop("care_team")
        user = request_user(request)
        # check() refused ids that are not the program's staff.
        team = list(assignable_staff(program_id=program_of(user)).filter(id__in=team_ids))
        enrollment, code, expires_at = enrollment_services.patient_enroll(
            counselor=user,
            timezone_name=data.pop("timezone", None),
            care_team=team,
            **data,
        )
        return Response(
            {
                "patient": EnrollmentSerializer(enrollment).data,
                "enrollment_code": code,
                "code_expires_at": expires_at,
            },
            status=status.HTTP_201_CREATED,
        )


class PatientDetail(generics.RetrieveUpdateAPIView):
    serializer_class = EnrollmentSerializer
    permission_classes = [IsClinician]
    http_method_names = ["get", "patch"]

    def get_queryset(self) -> QuerySet[Enrollment]:
        return enrollments_visible_to(acting_user(self.request)).prefetch_related("members")

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = enrollment_services.enrollment_update_fields(
            enrollment=serializer.instance, data=dict(serializer.validated_data)
        )


class ChangeSerializer(StrictSerializer):
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    level_of_care = serializers.ChoiceField(choices=LevelOfCare.choices, required=False)
    reason = serializers.CharField(max_length=500, required=False, default="")

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        # The view gives the patient's enrollment: the program's levels are the rule.
        enrollment = self.context.get("enrollment")
        errors = enrollment_services.enrollment_problems(
            program=enrollment.program if enrollment is not None else None,
            level_of_care=attrs.get("level_of_care"),
        )
        given = {"stage", "level_of_care"} & (set(attrs) | self.unparsed)
        if not given:
            errors["stage"] = ["Give a stage or a level of care."]
        return errors


class ChangeRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = EnrollmentChange
        fields = ["id", "field", "old_value", "new_value", "reason", "changed_by", "changed_at"]


class PatientChange(APIView):
    """Change stage or level of care (stepping up or down the continuum)."""

    permission_classes = [IsClinician]

    @extend_schema(request=ChangeSerializer, responses={200: EnrollmentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        enrollment = visible_enrollment(request_user(request), pk)
        serializer = ChangeSerializer(data=request.data, context={"enrollment": enrollment})
        serializer.is_valid(raise_exception=True)
        enrollment = enrollment_services.enrollment_change(
            enrollment=enrollment, actor=request_user(request), **serializer.validated_data
        )
        return Response(EnrollmentSerializer(enrollment).data)


class PatientHistory(generics.ListAPIView):
    serializer_class = ChangeRecordSerializer
    permission_classes = [IsClinician]
    queryset = EnrollmentChange.objects.none()

    def get_queryset(self) -> QuerySet[EnrollmentChange]:
        enrollment = visible_enrollment(acting_user(self.request), self.kwargs["pk"])
        return enrollment.changes.all()


class DischargeSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, default="")


class PatientDischarge(APIView):
    permission_classes = [IsClinician]

    @extend_schema(request=DischargeSerializer, responses={200: EnrollmentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        enrollment = visible_enrollment(request_user(request), pk)
        serializer = DischargeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        enrollment = enrollment_services.enrollment_discharge(
            enrollment=enrollment, actor=request_user(request), **serializer.validated_data
        )
        return Response(EnrollmentSerializer(enrollment).data)


class PatientReadmit(APIView):
    """Take a discharged patient back (active again, check-in windows planned again).
    The app then needs a new enrollment code (`enrollment-code/`)."""

    permission_classes = [IsClinician]

    @extend_schema(request=DischargeSerializer, responses={200: EnrollmentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        enrollment = visible_enrollment(request_user(request), pk)
        serializer = DischargeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        enrollment = enrollment_services.enrollment_readmit(
            enrollment=enrollment, actor=request_user(request), **serializer.validated_data
        )
        return Response(EnrollmentSerializer(enrollment).data)


class PatientCode(APIView):
    """Issue a new one-time enrollment code (the old one stops working)."""

    permission_classes = [IsClinician]

    @extend_schema(
        request=None,
        responses={
            201: inline_serializer(
                "EnrollmentCode",
                {
                    "enrollment_code": serializers.CharField(),
                    "code_expires_at": serializers.DateTimeField(),
                },
            )
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        enrollment = visible_enrollment(request_user(request), pk)
        refuse_body_if_any(request)
        code, expires_at = enrollment_services.enrollment_code_issue(
            enrollment=enrollment, issued_by=request_user(request)
        )
        return Response({"enrollment_code": code, "code_expires_at": expires_at}, status=201)


class PatientSchedule(APIView):
    permission_classes = [IsClinician]

    @extend_schema(responses={200: ScheduleSerializer})
    def get(self, request: Request, pk: int) -> Response:
        enrollment = visible_enrollment(request_user(request), pk)
        schedule = CheckInSchedule.objects.filter(enrollment=enrollment).first()
        if schedule is None:
            return Response(
                {"error": {"code": "not_found", "message": "No schedule yet.", "fields": {}}},
                status=404,
            )
        return Response(ScheduleSerializer(schedule).data)

    @extend_schema(request=ScheduleSerializer, responses={200: ScheduleSerializer})
    def put(self, request: Request, pk: int) -> Response:
        enrollment = visible_enrollment(request_user(request), pk)
        serializer = ScheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        schedule = checkin_schedule_set(enrollment=enrollment, **serializer.validated_data)
        return Response(ScheduleSerializer(schedule).data)


class PatientTimeline(APIView):
    """Check-ins, practice, urges, attendance, flags, drug screens, mutual-help meetings and
    questionnaires, each with what it holds, newest first. Page with `cursor`
    (the `next_cursor` of the previous page); `before` starts at an instant."""

    permission_classes = [IsClinician]

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str, description="`next_cursor` of the previous page."),
            OpenApiParameter(
                "before", OpenApiTypes.DATETIME, description="ISO 8601 instant with offset."
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 200},
                description="1 to 200, default 50.",
            ),
        ],
        responses={
            200: inline_serializer(
                "Timeline",
                {
                    "results": serializers.ListField(child=serializers.DictField()),
                    "next_cursor": serializers.CharField(allow_null=True),
                    "next_before": serializers.DateTimeField(
                        allow_null=True,
                        help_text="Deprecated: items sharing this instant may be skipped; "
                        "use next_cursor.",
                    ),
                },
            )
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        enrollment = visible_enrollment(request_user(request), pk)
        params = request.query_params
        cursor = None
        if params.get("cursor"):
            cursor = TimelineCursor.decode(params["cursor"])
            if cursor is None:
                raise ValidationError({"cursor": ["Pass back the next_cursor you were given."]})
        before = None
        if params.get("before"):
            before = parse_instant_param(params["before"], "before")
        raw_limit = params.get("limit", "50")
        if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= 200:
            raise ValidationError({"limit": ["A whole number from 1 to 200."]})
        limit = int(raw_limit)
        items = timeline(
            enrollment=enrollment,
            before=before,
            limit=limit,
            cursor=cursor,
            reader=request_user(request),
        )
        full = len(items) == limit
        return Response(
            {
                "results": items,
                "next_cursor": TimelineCursor.of(items[-1]).encode() if full else None,
                "next_before": items[-1]["at"] if full else None,
            }
        )


class AttendanceSummary(APIView):
    """Attended hours per week against the program's requirement, and counts by status."""

    @extend_schema(
        parameters=[OpenApiParameter("patient", int, description="Staff: patient id.")],
        responses={
            200: inline_serializer(
                "AttendanceSummary",
                {
                    "weeks": inline_serializer(
                        "AttendanceWeek",
                        {
                            "week_start": serializers.DateField(),
                            "hours_attended": serializers.FloatField(),
                            "required_hours": serializers.FloatField(),
                            "met": serializers.BooleanField(),
                        },
                        many=True,
                    ),
                    "counts": serializers.DictField(child=serializers.IntegerField()),
                },
            )
        },
    )
    def get(self, request: Request) -> Response:
        enrollment = enrollment_asked_for(request)
        return Response(
            {
                "weeks": weekly_hours(enrollment=enrollment),
                "counts": attendance_counts(enrollment=enrollment),
            }
        )
