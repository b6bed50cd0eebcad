"""The counselor dashboard API: caseload and the flag queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import request_user
from recovery.api.common import (
    IdField,
    IdFilter,
    IsClinician,
    StrictSerializer,
    acting_user,
    refuse_body_if_any,
)
from recovery.models import (
    Flag,
    FlagEvent,
    FlagKind,
    FlagResolution,
    FlagStatus,
    Severity,
    User,
)
from recovery.selectors.access import flags_visible_to
from recovery.selectors.dashboard import CaseloadRow, caseload
from recovery.services import flags as flag_services


class FlagEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = FlagEvent
        fields = ["action", "actor", "note", "at"]


class FlagSerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="enrollment_id")
    severity_label = serializers.SerializerMethodField()
    events = FlagEventSerializer(many=True, read_only=True)
    reason = serializers.DictField(
        read_only=True,
        help_text="What fired the flag: the craving and the threshold, the substances "
        "reported, the window missed and how many in a row, the urge's intensity. Empty "
        "for flags raised before this was recorded.",
    )

    class Meta:
        model = Flag
        fields = [
            "id",
            "patient",
            "kind",
            "severity",
            "severity_label",
            "window_key",
            "reason",
            "status",
            "assigned_to",
            "acknowledged_by",
            "acknowledged_at",
            "resolved_by",
            "resolved_at",
            "outcome_note",
            "resolution",
            "escalated_at",
            "created_at",
            "events",
        ]

    def get_severity_label(self, obj: Flag) -> str:
        return str(Severity(obj.severity).label)


class FlagFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=FlagStatus.choices)
    severity = filters.MultipleChoiceFilter(choices=Severity.choices)
    kind = filters.MultipleChoiceFilter(choices=FlagKind.choices)
    patient = IdFilter(field_name="enrollment")
    assigned_to = IdFilter(field_name="assigned_to")

    class Meta:
        model = Flag
        fields = ["status", "severity", "kind", "patient", "assigned_to"]


def _flags_with_events(user: User) -> QuerySet[Flag]:
    return flags_visible_to(user).prefetch_related("events")


class FlagList(generics.ListAPIView):
    """The flag queue, most severe first, then oldest first."""

    serializer_class = FlagSerializer
    permission_classes = [IsClinician]
    filterset_class = FlagFilter

    def get_queryset(self) -> QuerySet[Flag]:
        flags = _flags_with_events(acting_user(self.request))
        return flags.order_by("-severity", "created_at", "id")


class FlagDetail(generics.RetrieveAPIView):
    serializer_class = FlagSerializer
    permission_classes = [IsClinician]

    def get_queryset(self) -> QuerySet[Flag]:
        return _flags_with_events(acting_user(self.request))


class ResolveSerializer(StrictSerializer):
    outcome_note = serializers.CharField(max_length=4000)
    resolution = serializers.ChoiceField(
        choices=FlagResolution.choices,
        required=False,
        help_text="Whether anything was done; action_taken when not given.",
    )

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        return flag_services.flag_resolve_problems(
            flag=self.context["flag"], outcome_note=attrs.get("outcome_note")
        )


class NoteSerializer(StrictSerializer):
    """A reopen's note."""

    note = serializers.CharField(max_length=4000, required=False, default="")

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        return flag_services.flag_reopen_problems(flag=self.context["flag"])


class AssignSerializer(StrictSerializer):
    assignee = IdField()

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        return flag_services.flag_assign_problems(
            flag=self.context["flag"], assignee_id=attrs.get("assignee")
        )


class FlagAction(APIView):
    permission_classes = [IsClinician]
    action_name = ""
    request_serializer: type[serializers.Serializer] | None = None

    def _flag(self, request: Request, pk: int) -> Flag:
        return generics.get_object_or_404(
            _flags_with_events(request_user(request)).select_related("enrollment__program"), pk=pk
        )

    def act(self, request: Request, flag: Flag, data: dict[str, Any]) -> Flag:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        flag = self._flag(request, pk)
        data: dict[str, Any] = {}
        if self.request_serializer is None:
            refuse_body_if_any(request)
        else:
            serializer = self.request_serializer(
                data=request.data, context={"request": request, "flag": flag}
            )
            serializer.is_valid(raise_exception=True)
            data = dict(serializer.validated_data)
        flag = self.act(request, flag, data)
        return Response(
            FlagSerializer(_flags_with_events(request_user(request)).get(pk=flag.pk)).data
        )


@extend_schema(request=None, responses={200: FlagSerializer})
class FlagAcknowledge(FlagAction):
    def act(self, request: Request, flag: Flag, data: dict[str, Any]) -> Flag:
        return flag_services.flag_acknowledge(flag=flag, actor=request_user(request))


@extend_schema(request=AssignSerializer, responses={200: FlagSerializer})
class FlagAssign(FlagAction):
    request_serializer = AssignSerializer

    def act(self, request: Request, flag: Flag, data: dict[str, Any]) -> Flag:
        return flag_services.flag_assign(
            flag=flag, actor=request_user(request), assignee_id=data["assignee"]
        )


@extend_schema(request=ResolveSerializer, responses={200: FlagSerializer})
class FlagResolve(FlagAction):
    request_serializer = ResolveSerializer

    def act(self, request: Request, flag: Flag, data: dict[str, Any]) -> Flag:
        return flag_services.flag_resolve(flag=flag, actor=request_user(request), **data)


@extend_schema(request=NoteSerializer, responses={200: FlagSerializer})
class FlagReopen(FlagAction):
    request_serializer = NoteSerializer

    def act(self, request: Request, flag: Flag, data: dict[str, Any]) -> Flag:
        return flag_services.flag_reopen(flag=flag, actor=request_user(request), **data)


class CaseloadRowSerializer(serializers.Serializer):
    patient = serializers.IntegerField(source="enrollment.id")
    first_name = serializers.CharField(source="enrollment.patient.first_name")
    last_name = serializers.CharField(source="enrollment.patient.last_name")
    stage = serializers.CharField(source="enrollment.stage")
    level_of_care = serializers.CharField(source="enrollment.level_of_care")
    last_checkin_at = serializers.DateTimeField(allow_null=True)
    streak_days = serializers.IntegerField()
    adherence_7d = serializers.FloatField(allow_null=True)
    adherence_30d = serializers.FloatField(allow_null=True)
    craving_avg_7d = serializers.FloatField(allow_null=True)
    craving_trend = serializers.FloatField(
        allow_null=True, help_text="7-day average minus the week before."
    )
    craving_daily_30d = serializers.ListField(child=serializers.FloatField(allow_null=True))
    last_session_attended_at = serializers.DateTimeField(allow_null=True)
    hours_this_week = serializers.FloatField()
    required_hours_per_week = serializers.FloatField()
    open_flags = serializers.DictField(child=serializers.IntegerField())
    last_heard_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the patient's app was last heard from (an API request, the "
        "websocket, a receipt); null if never.",
    )
    app_silent_since = serializers.DateTimeField(
        allow_null=True,
        help_text="Set when the app has been silent for the program's number of days "
        "(app_silent_after_days): the start of the silence, for which the app is sent one "
        "push asking the patient to open it.",
    )
    scores = serializers.ListField(
        child=serializers.DictField(),
        help_text="Per instrument: latest total, band, when, change since baseline.",
    )
    questionnaires_missed = serializers.IntegerField()
    unread_messages = serializers.IntegerField(
        help_text="The patient's messages to the care team you have not read yet."
    )

    def to_representation(self, instance: CaseloadRow) -> dict[str, Any]:
        """The fields above, written out: DRF's field-by-field machinery cost about a
        tenth of a caseload of 500 (18 fields a row). Same output (see
        test_selectors_dashboard: the generic serializer gives the same rows)."""
        row, enrollment = instance, instance.enrollment
        patient = enrollment.patient
        instant = self._instant
        return {
            "patient": int(enrollment.id),
            "first_name": str(patient.first_name),
            "last_name": str(patient.last_name),
            "stage": str(enrollment.stage),
            "level_of_care": str(enrollment.level_of_care),
            "last_checkin_at": instant(row.last_checkin_at),
            "streak_days": int(row.streak_days),
            "adherence_7d": _float(row.adherence_7d),
            "adherence_30d": _float(row.adherence_30d),
            "craving_avg_7d": _float(row.craving_avg_7d),
            "craving_trend": _float(row.craving_trend),
            "craving_daily_30d": [_float(value) for value in row.craving_daily_30d],
            "last_session_attended_at": instant(row.last_session_attended_at),
            "hours_this_week": _float(row.hours_this_week),
            "required_hours_per_week": _float(row.required_hours_per_week),
            "open_flags": {str(k): int(v) for k, v in row.open_flags.items()},
            "last_heard_at": instant(row.last_heard_at),
            "app_silent_since": instant(row.app_silent_since),
            # As the generic ListField(DictField()) gives them: the renderer writes `at`.
            "scores": [dict(score) for score in row.scores],
            "questionnaires_missed": int(row.questionnaires_missed),
            "unread_messages": int(row.unread_messages),
        }

    def _instant(self, value: datetime | None) -> str | None:
        return None if value is None else self.fields["last_checkin_at"].to_representation(value)


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


class Caseload(APIView):
    """Every patient on your caseload with the figures a counselor scans first. The
    number of queries does not grow with the caseload."""

    permission_classes = [IsClinician]

    @extend_schema(responses={200: CaseloadRowSerializer(many=True)})
    def get(self, request: Request) -> Response:
        rows = caseload(user=request_user(request))
        return Response(CaseloadRowSerializer(rows, many=True).data)
