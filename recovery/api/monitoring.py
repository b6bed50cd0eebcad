"""Peer support, the program's monitoring thresholds and the monitoring columns of the
caseload, and what the monitoring endpoints share (the ?patient= parameter and filter).

Patients log their mutual-help meetings; staff read those in reach; supervisors set the
program's thresholds. Drug screens are in `recovery.api.screens`, medications in
`recovery.api.medications`. Out of reach is 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import request_user
from recovery.api.common import (
    BoundedDateFilter,
    IdFilter,
    IsClinician,
    PatientWritesStaffReads,
    StrictModelSerializer,
    acting_user,
    parse_id_param,
)
from recovery.models import Enrollment, MutualHelpMeeting, ProgramMonitoringSettings, Role
from recovery.selectors.access import (
    enrollment_for_patient_user,
    may_change_program_settings,
    visible_enrollment,
)
from recovery.selectors.monitoring import meetings_weekly, monitoring_caseload
from recovery.selectors.plan import meetings_visible_to, monitoring_settings_of
from recovery.services import monitoring as monitoring_services


def enrollment_asked_for(request: Request) -> Enrollment:
    """A patient asks about themself; staff name the patient with ?patient=."""
    user = request_user(request)
    raw = request.query_params.get("patient")
    if user.role == Role.PATIENT:
        if raw is not None:  # a patient's own id is harmless; a malformed one is a 400
            parse_id_param(raw, "patient")
        return enrollment_for_patient_user(user)
    return visible_enrollment(user, parse_id_param(raw or "", "patient"))


PATIENT_PARAMETER = OpenApiParameter(
    "patient", int, description="Staff: the patient id (patients get their own)."
)


def patient_filter() -> IdFilter:
    """?patient=<id>, bounded so that an absurd id is a 400, not a database overflow."""
    return IdFilter(field_name="enrollment", help_text="Patient id.")


class MeetingFilter(filters.FilterSet):
    patient = patient_filter()
    since = BoundedDateFilter(field_name="attended_on", lookup_expr="gte")
    until = BoundedDateFilter(field_name="attended_on", lookup_expr="lte")

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

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        # Only patients log meetings (the permission), each their own.
        enrollment = enrollment_for_patient_user(acting_user(self.context["request"]))
        return monitoring_services.meeting_problems(
            enrollment=enrollment,
            fellowship=attrs.get("fellowship"),
            attended_on=attrs.get("attended_on"),
            fellowship_other=(
                None if "fellowship_other" in self.unparsed else attrs.get("fellowship_other", "")
            ),
        )


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
        enrollment = enrollment_asked_for(request)
        weeks = meetings_weekly(enrollment=enrollment)
        return Response(
            {"patient": enrollment.id, "weeks": WeeklyMeetingsSerializer(weeks, many=True).data}
        )


# --- program thresholds -----------------------------------------------------------------


class StaffReadSupervisorsChange(IsClinician):
    message = "Only supervisors change the program's settings."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in SAFE_METHODS or may_change_program_settings(request.user)


class MonitoringSettingsSerializer(StrictModelSerializer):
    # Null until a supervisor first saves the program's own settings (defaults apply).
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

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

    permission_classes = [StaffReadSupervisorsChange]

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


# --- the caseload's monitoring columns --------------------------------------------------


class MonitoringRowSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    meetings_this_week = serializers.IntegerField()
    meetings_last_week = serializers.IntegerField()
    last_screen_on = serializers.DateField(allow_null=True)
    last_screen_outcome = serializers.CharField(allow_null=True)
    positive_screens_28d = serializers.IntegerField()
    doses_taken_7d = serializers.IntegerField()
    doses_missed_7d = serializers.IntegerField()
    has_plan = serializers.BooleanField()
    plan_review_due = serializers.BooleanField()
    active_goals = serializers.IntegerField()


class MonitoringCaseload(APIView):
    """Peer support, screens, doses and plan state of each active patient in reach."""

    permission_classes = [IsClinician]

    @extend_schema(
        responses={
            200: inline_serializer(
                "MonitoringCaseload", {"results": MonitoringRowSerializer(many=True)}
            )
        }
    )
    def get(self, request: Request) -> Response:
        rows = monitoring_caseload(user=request_user(request))
        return Response({"results": MonitoringRowSerializer(rows, many=True).data})
