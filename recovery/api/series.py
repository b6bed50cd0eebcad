"""Recurring series of sessions: RFC 5545 rules over local wall time; cancelling or
moving the rest of a series. One-off sessions and attendance are in recovery.api.sessions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import BoundedIntegerField, LocalTimeField, request_user
from recovery.api.common import (
    AwareDateTimeField,
    BoundedDateField,
    IsClinician,
    StrictModelSerializer,
    StrictSerializer,
    acting_user,
    program_of,
    validate_zone_name,
)
from recovery.api.sessions import (
    FacilitatorField,
    PatientsField,
    ShownPatientsList,
    ShowsOnlyPatientsInReach,
)
from recovery.models import SessionSeries
from recovery.selectors.access import series_visible_to, series_writable_by
from recovery.services import series as series_services


class SeriesSerializer(ShowsOnlyPatientsInReach, StrictModelSerializer):
    start_time = LocalTimeField()
    patients = PatientsField(many=True, required=False)
    facilitator = FacilitatorField(required=False, allow_null=True)

    class Meta:
        model = SessionSeries
        fields = [
            "id",
            "kind",
            "title",
            "rrule",
            "start_date",
            "start_time",
            "duration_minutes",
            "timezone",
            "location",
            "video_url",
            "facilitator",
            "patients",
            "ends_after",
            "expanded_until",
        ]
        read_only_fields = ["id", "ends_after", "expanded_until"]
        list_serializer_class = ShownPatientsList

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        return series_services.series_problems(
            rule=attrs.get("rrule"),
            start_date=attrs.get("start_date"),
            start_time=attrs.get("start_time"),
            duration_minutes=attrs.get("duration_minutes"),
            timezone_name=attrs.get("timezone"),
        )

    def validate_timezone(self, value: str) -> str:
        return validate_zone_name(value)


class SeriesList(generics.ListCreateAPIView):
    """Recurring sessions, e.g. `FREQ=WEEKLY;BYDAY=MO,WE,TH;COUNT=36` at 18:00 local."""

    serializer_class = SeriesSerializer
    permission_classes = [IsClinician]
    queryset = SessionSeries.objects.none()

    def get_queryset(self) -> QuerySet[SessionSeries]:
        return series_visible_to(acting_user(self.request)).order_by("id")

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = series_services.series_create(
            program_id=program_of(request_user(self.request)),
            kind=data["kind"],
            title=data["title"],
            rule=data["rrule"],
            start_date=data["start_date"],
            start_time=data["start_time"],
            duration_minutes=data["duration_minutes"],
            timezone_name=data["timezone"],
            location=data.get("location", ""),
            video_url=data.get("video_url", ""),
            facilitator=data.get("facilitator"),
            patients=data.get("patients", []),
        )


class CancelRestSerializer(StrictSerializer):
    """Ends the series at `from_instant`. Sessions that already started (and may have
    attendance recorded) are history, not cancellable."""

    from_instant = AwareDateTimeField()

    def validate_from_instant(self, value: datetime) -> datetime:
        problems = series_services.series_cancel_rest_problems(from_instant=value)
        if problems:
            raise serializers.ValidationError(problems["from_instant"])
        return value


class MoveRestSerializer(StrictSerializer):
    """Moves the occurrences from `from_date` (in the series' zone) on; not the past."""

    from_date = BoundedDateField()
    start_time = LocalTimeField()
    duration_minutes = BoundedIntegerField()

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        return series_services.series_problems(duration_minutes=attrs.get("duration_minutes"))

    def validate_from_date(self, value: date) -> date:
        problems = series_services.series_move_rest_problems(
            series=self.context["series"], from_date=value
        )
        if problems:
            raise serializers.ValidationError(problems["from_date"])
        return value


class SeriesCancelRest(APIView):
    permission_classes = [IsClinician]

    @extend_schema(request=CancelRestSerializer, responses={200: SeriesSerializer})
    def post(self, request: Request, pk: int) -> Response:
        series = generics.get_object_or_404(series_writable_by(request_user(request)), pk=pk)
        serializer = CancelRestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        series_services.series_cancel_rest(series=series, **serializer.validated_data)
        return Response(SeriesSerializer(series, context={"request": request}).data)


class SeriesMoveRest(APIView):
    permission_classes = [IsClinician]

    @extend_schema(request=MoveRestSerializer, responses={201: SeriesSerializer})
    def post(self, request: Request, pk: int) -> Response:
        series = generics.get_object_or_404(series_writable_by(request_user(request)), pk=pk)
        serializer = MoveRestSerializer(data=request.data, context={"series": series})
        serializer.is_valid(raise_exception=True)
        new_series = series_services.series_move_rest(series=series, **serializer.validated_data)
        return Response(SeriesSerializer(new_series, context={"request": request}).data, status=201)
