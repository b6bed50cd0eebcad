"""Treatment sessions and their attendance. Recurring series are in recovery.api.series;
the patient and facilitator fields and the patient-hiding list are shared with them."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import Manager, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import (
    SyncPagination,
    request_user,
    updated_since_parameter,
    updated_since_query,
)
from recovery.api.common import (
    AwareDateTimeField,
    BoundedPrimaryKeyRelatedField,
    IdField,
    IsClinician,
    StrictModelSerializer,
    acting_user,
    parse_instant_param,
    program_of,
    refuse_body_if_any,
    staff_writes,
)
from recovery.models import (
    Attendance,
    Enrollment,
    Role,
    SessionSeries,
    TreatmentSession,
    User,
)
from recovery.selectors.access import (
    assignable_staff,
    bookable_enrollments,
    may_change_facilitator,
    patients_shown,
    roll_change_problems,
    roll_patient,
    session_attendance,
    sessions_visible_to,
    sessions_writable_by,
)
from recovery.services import sessions as session_services

MAX_PATIENTS = 200


class PatientsField(BoundedPrimaryKeyRelatedField):
    """Patients the caller may book, or already on the session or series being changed
    (`bookable_enrollments`), at most MAX_PATIENTS, resolved in one query."""

    max_items = MAX_PATIENTS

    def get_queryset(self) -> QuerySet[Enrollment]:
        return bookable_enrollments(acting_user(self.context["request"]), self.root.instance)


class FacilitatorField(serializers.PrimaryKeyRelatedField):
    """Active staff of the caller's program; who may change it is `facilitator_problems`'."""

    def get_queryset(self) -> QuerySet[User]:
        user = acting_user(self.context["request"])
        return assignable_staff(program_id=program_of(user))


def roll_problems(
    user: User, item: TreatmentSession | SessionSeries | None, attrs: dict[str, Any]
) -> dict[str, list[str]]:
    """Who may hand on the facilitator, and take patients off the roll (`access`)."""
    errors: dict[str, list[str]] = {}
    if item is None:
        return errors
    if (
        "facilitator" in attrs
        and attrs["facilitator"] != item.facilitator
        and not may_change_facilitator(user, item)
    ):
        errors["facilitator"] = ["Only the facilitator or a supervisor changes who facilitates."]
    if "patients" in attrs:
        errors |= roll_change_problems(user, item, [p.id for p in attrs["patients"]])
    return errors


class ShownPatientsList(serializers.ListSerializer):
    """Works out, for the whole page at once, which patients on each item the caller may
    see (`patients_shown`)."""

    def to_representation(self, data: Any) -> list[Any]:
        items = list(data.all() if isinstance(data, Manager) else data)
        # The child reads the root's context: the page's answer goes there.
        context = cast(dict[str, Any], self.context)
        context["shown_patients"] = patients_shown(acting_user(context["request"]), items)
        return super().to_representation(items)


class ShowsOnlyPatientsInReach(serializers.Serializer):
    """`patients` lists only the patients the caller may see: all of them for the
    facilitator and supervisors, else those on the caller's care teams."""

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        shown = self.context.get("shown_patients")
        if shown is None or instance.pk not in shown:
            shown = patients_shown(acting_user(self.context["request"]), [instance])
        data["patients"] = shown.get(instance.pk, [])
        return data


class SessionSerializer(ShowsOnlyPatientsInReach, StrictModelSerializer):
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    patients = PatientsField(many=True, required=False)
    facilitator = FacilitatorField(required=False, allow_null=True)

    class Meta:
        model = TreatmentSession
        fields = [
            "id",
            "kind",
            "title",
            "starts_at",
            "ends_at",
            "location",
            "video_url",
            "facilitator",
            "patients",
            "status",
            "series",
        ]
        read_only_fields = ["id", "status", "series"]
        list_serializer_class = ShownPatientsList

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        # A PATCH keeps the time it does not change.
        session = cast("TreatmentSession | None", self.instance)
        return session_services.session_problems(
            starts_at=attrs.get("starts_at", session.starts_at if session else None),
            ends_at=attrs.get("ends_at", session.ends_at if session else None),
            session=session,
        ) | roll_problems(acting_user(self.context["request"]), session, attrs)


class PatientSessionSerializer(serializers.ModelSerializer):
    """What a patient sees: no other patients."""

    class Meta:
        model = TreatmentSession
        fields = [
            "id",
            "kind",
            "title",
            "starts_at",
            "ends_at",
            "location",
            "video_url",
            "status",
            "series",
        ]


def _serializer_for(request: Request) -> type[serializers.Serializer]:
    """Patients see their sessions without the other patients on them."""
    if getattr(request.user, "role", None) == Role.PATIENT:  # schema generation: anonymous
        return PatientSessionSerializer
    return SessionSerializer


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.DATETIME,
                description="Staff: sessions starting at or after this instant (with offset).",
            ),
            OpenApiParameter(
                "until",
                OpenApiTypes.DATETIME,
                description="Staff: sessions starting before this instant (with offset).",
            ),
            updated_since_parameter(
                "Only sessions created or changed at or after this instant, past ones too: "
                "a cancelled one comes back with `status` `cancelled`, a moved one with its "
                "new time."
            ),
        ],
        description="Patients: their sessions from now on. Staff: the program's sessions "
        "(filter by `since`/`until`). To sync, pass `updated_since`, follow `next_page` to "
        "the end, and keep the response's `synced_at` for next time.",
    )
)
class SessionList(generics.ListCreateAPIView):
    """Patients: their sessions from now on. Staff: the program's sessions (filter by
    `since`/`until`); staff create sessions."""

    def get_permissions(self) -> list[Any]:
        return staff_writes(self)

    queryset = TreatmentSession.objects.none()
    pagination_class = SyncPagination

    def get_serializer_class(self) -> Any:
        return _serializer_for(self.request)

    def get_queryset(self) -> QuerySet[TreatmentSession]:
        user = acting_user(self.request)
        qs = sessions_visible_to(user)
        since = updated_since_query(self.request)
        if since is not None:
            # What changed, wherever it now lies in time: the app holds past sessions too.
            qs = qs.filter(updated_at__gte=since)
        elif user.role == Role.PATIENT:
            qs = qs.filter(ends_at__gte=timezone.now())
        if user.role != Role.PATIENT:
            params = self.request.query_params
            for key, lookup in (("since", "starts_at__gte"), ("until", "starts_at__lt")):
                if key in params:
                    qs = qs.filter(**{lookup: parse_instant_param(params[key], key)})
        return qs.order_by("starts_at", "id")

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = session_services.session_create(
            program_id=program_of(request_user(self.request)), **data
        )


class SessionDetail(generics.RetrieveUpdateAPIView):
    http_method_names = ["get", "patch"]

    def get_permissions(self) -> list[Any]:
        return staff_writes(self)

    queryset = TreatmentSession.objects.none()

    def get_serializer_class(self) -> Any:
        return _serializer_for(self.request)

    def get_queryset(self) -> QuerySet[TreatmentSession]:
        user = acting_user(self.request)
        if self.request.method in SAFE_METHODS:
            return sessions_visible_to(user)
        return sessions_writable_by(user)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = session_services.session_update(
            session=serializer.instance, **dict(serializer.validated_data)
        )


class SessionCancel(APIView):
    permission_classes = [IsClinician]

    @extend_schema(request=None, responses={200: SessionSerializer})
    def post(self, request: Request, pk: int) -> Response:
        session = generics.get_object_or_404(sessions_writable_by(request_user(request)), pk=pk)
        refuse_body_if_any(request)
        session = session_services.session_cancel(session=session)
        return Response(SessionSerializer(session, context={"request": request}).data)


class AttendanceSerializer(StrictModelSerializer):
    patient = IdField(source="enrollment_id")

    class Meta:
        model = Attendance
        fields = ["id", "patient", "status", "minutes_attended", "recorded_by", "recorded_at"]
        read_only_fields = ["id", "recorded_by", "recorded_at"]
        extra_kwargs = {"minutes_attended": {"required": False}}

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        session: TreatmentSession = self.context["session"]
        if "enrollment_id" in attrs:
            # Out of the caller's reach is 404 before any rule reads the roll.
            roll_patient(acting_user(self.context["request"]), session, attrs["enrollment_id"])
        return session_services.attendance_problems(
            session=session,
            enrollment_id=attrs.get("enrollment_id"),
            status=attrs.get("status"),
            minutes_attended=attrs.get("minutes_attended"),
        )


class SessionAttendance(generics.ListCreateAPIView):
    """Staff record attendance: present, late, left early, absent, excused."""

    serializer_class = AttendanceSerializer
    permission_classes = [IsClinician]
    pagination_class = None
    queryset = Attendance.objects.none()

    def _session(self) -> TreatmentSession:
        return generics.get_object_or_404(
            sessions_visible_to(acting_user(self.request)), pk=self.kwargs["pk"]
        )

    def get_queryset(self) -> QuerySet[Attendance]:
        return session_attendance(acting_user(self.request), self._session()).order_by("id")

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        if self.request is not None and self.request.method == "POST":
            context["session"] = self._session()  # the rules of recording read it
        return context

    def perform_create(self, serializer: Any) -> None:
        session = self._session()
        data = serializer.validated_data
        user = request_user(self.request)
        enrollment = roll_patient(user, session, data["enrollment_id"])
        serializer.instance = session_services.attendance_record(
            session=session,
            enrollment=enrollment,
            status=data["status"],
            minutes_attended=data.get("minutes_attended"),
            actor=user,
        )
