"""Coping-skill exercises, practice, favourites, assignments and support contacts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import (
    SyncWithDeletionsPagination,
    request_user,
    updated_since_parameter,
    updated_since_query,
)
from recovery.api.checkins import CrisisResourceSerializer
from recovery.api.common import (
    AwareDateTimeField,
    BoundedListField,
    IdField,
    IsPatient,
    PatientWritesStaffReads,
    StrictModelSerializer,
    StrictSerializer,
    acting_user,
    refuse_body_if_any,
    staff_writes,
)
from recovery.api.filters import patient_and_range
from recovery.crisis import crisis_resources
from recovery.models import (
    Exercise,
    ExerciseAssignment,
    ExercisePractice,
    FavoriteExercise,
    SupportContact,
    SupportContactDeletion,
)
from recovery.selectors.access import (
    enrollment_for_patient_user,
    records_visible_to,
    visible_enrollment,
)
from recovery.selectors.care import exercises_visible_to
from recovery.services import care


class ExerciseSerializer(StrictModelSerializer):
    steps = BoundedListField(
        child=serializers.CharField(max_length=500), min_length=1, max_length=20
    )
    is_program_exercise = serializers.SerializerMethodField()

    class Meta:
        model = Exercise
        fields = [
            "id",
            "slug",
            "name",
            "category",
            "summary",
            "steps",
            "duration_minutes",
            "evidence",
            "is_program_exercise",
        ]
        read_only_fields = ["id", "is_program_exercise"]

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        return care.program_exercise_problems(
            actor=acting_user(self.context["request"]), slug=attrs.get("slug")
        )

    def get_is_program_exercise(self, obj: Exercise) -> bool:
        return obj.program_id is not None


class ExerciseList(generics.ListCreateAPIView):
    """The exercise library; staff add their program's own."""

    serializer_class = ExerciseSerializer
    queryset = Exercise.objects.none()

    def get_permissions(self) -> list[Any]:
        return staff_writes(self)

    def get_queryset(self) -> QuerySet[Exercise]:
        return exercises_visible_to(acting_user(self.request))

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = care.program_exercise_create(
            actor=request_user(self.request), data=dict(serializer.validated_data)
        )


class ExerciseDetail(generics.RetrieveAPIView):
    serializer_class = ExerciseSerializer

    def get_queryset(self) -> QuerySet[Exercise]:
        return exercises_visible_to(acting_user(self.request))


class FavoriteView(APIView):
    permission_classes = [IsPatient]

    def _set(self, request: Request, pk: int, favorite: bool) -> Response:
        refuse_body_if_any(request)
        enrollment = enrollment_for_patient_user(request_user(request))
        exercise = get_object_or_404(exercises_visible_to(request_user(request)), pk=pk)
        care.favorite_set(enrollment=enrollment, exercise=exercise, favorite=favorite)
        return Response({"exercise": exercise.id, "favorite": favorite})

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "Favorite",
                {"exercise": serializers.IntegerField(), "favorite": serializers.BooleanField()},
            )
        },
    )
    def put(self, request: Request, pk: int) -> Response:
        return self._set(request, pk, True)

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "Unfavorite",
                {"exercise": serializers.IntegerField(), "favorite": serializers.BooleanField()},
            )
        },
    )
    def delete(self, request: Request, pk: int) -> Response:
        return self._set(request, pk, False)


class FavoriteList(generics.ListAPIView):
    serializer_class = ExerciseSerializer
    permission_classes = [IsPatient]
    queryset = Exercise.objects.none()

    def get_queryset(self) -> QuerySet[Exercise]:
        enrollment = enrollment_for_patient_user(acting_user(self.request))
        ids = FavoriteExercise.objects.filter(enrollment=enrollment).values("exercise_id")
        return Exercise.objects.filter(id__in=ids)


class VisibleExerciseField(serializers.PrimaryKeyRelatedField):
    """An exercise the caller can see: the shared library or their program's own. Others
    answer as unknown ids, so their existence does not leak across programs."""

    def get_queryset(self) -> QuerySet[Exercise]:
        return exercises_visible_to(self.context["request"].user)


class PracticeSerializer(StrictModelSerializer):
    patient = serializers.IntegerField(source="enrollment_id", read_only=True)
    exercise = VisibleExerciseField()
    practiced_at = AwareDateTimeField(required=False)

    class Meta:
        model = ExercisePractice
        fields = [
            "id",
            "patient",
            "exercise",
            "craving_before",
            "craving_after",
            "helpfulness",
            "note",
            "practiced_at",
        ]
        read_only_fields = ["id", "patient"]

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        # Only patients write practice (the view's permission), so the caller has one.
        enrollment = enrollment_for_patient_user(acting_user(self.context["request"]))
        return care.practice_problems(
            enrollment=enrollment,
            exercise=attrs.get("exercise"),
            practiced_at=attrs.get("practiced_at"),
        )


class PracticeList(generics.ListCreateAPIView):
    serializer_class = PracticeSerializer
    permission_classes = [PatientWritesStaffReads]
    filterset_class = patient_and_range("practiced_at")

    def get_queryset(self) -> QuerySet[ExercisePractice]:
        return records_visible_to(acting_user(self.request), ExercisePractice.objects.all())

    def perform_create(self, serializer: Any) -> None:
        enrollment = enrollment_for_patient_user(request_user(self.request))
        serializer.instance = care.practice_log(enrollment=enrollment, **serializer.validated_data)


class AssignmentSerializer(StrictModelSerializer):
    patient = IdField(source="enrollment_id")
    exercise = VisibleExerciseField()

    class Meta:
        model = ExerciseAssignment
        fields = ["id", "patient", "exercise", "note", "assigned_by", "assigned_at"]
        read_only_fields = ["id", "assigned_by", "assigned_at"]


class AssignmentList(generics.ListCreateAPIView):
    """Counselors assign exercises to patients on their caseload; patients see theirs."""

    serializer_class = AssignmentSerializer
    filterset_class = patient_and_range("assigned_at")

    def get_permissions(self) -> list[Any]:
        return staff_writes(self)

    def get_queryset(self) -> QuerySet[ExerciseAssignment]:
        return records_visible_to(acting_user(self.request), ExerciseAssignment.objects.all())

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        enrollment = visible_enrollment(request_user(self.request), data["enrollment_id"])
        serializer.instance = care.exercise_assign(
            enrollment=enrollment,
            exercise=data["exercise"],
            actor=request_user(self.request),
            note=data.get("note", ""),
        )


class AssignmentDetail(generics.RetrieveDestroyAPIView):
    serializer_class = AssignmentSerializer

    def get_permissions(self) -> list[Any]:
        return staff_writes(self)

    def get_queryset(self) -> QuerySet[ExerciseAssignment]:
        return records_visible_to(acting_user(self.request), ExerciseAssignment.objects.all())

    def perform_destroy(self, instance: ExerciseAssignment) -> None:
        care.exercise_unassign(assignment=instance)


class ContactSerializer(StrictModelSerializer):
    class Meta:
        model = SupportContact
        fields = [
            "id",
            "name",
            "relationship",
            "phone",
            "email",
            "reachable_hours",
            "note",
            "position",
        ]
        read_only_fields = ["id"]
        extra_kwargs = {"position": {"required": False}}

    def validate_phone(self, value: str) -> str:
        allowed = set("0123456789+-() .")
        if value and (not set(value) <= allowed or sum(c.isdigit() for c in value) < 3):
            raise serializers.ValidationError("Digits, spaces and + - ( ) only.")
        return value

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        instance = self.instance
        errors: dict[str, list[str]] = {}
        # A phone or email that did not parse already says why.
        if not {"phone", "email"} & self.unparsed:
            phone = attrs.get("phone", instance.phone if instance else "")
            email = attrs.get("email", instance.email if instance else "")
            if not phone and not email:
                errors["phone"] = ["Give a phone number or an email."]
        if instance is None:  # a new contact: the patient's own (only patients write them)
            enrollment = enrollment_for_patient_user(acting_user(self.context["request"]))
            errors.update(care.contact_problems(enrollment=enrollment))
        return errors


@extend_schema_view(
    get=extend_schema(
        description="The patient's support contacts, in their order. To sync, pass "
        "`updated_since`, follow `next_page` to the end, drop the first page's `deleted` "
        "ids, and keep the response's `synced_at` for next time.",
        parameters=[
            updated_since_parameter(
                "Only contacts added or changed at or after this instant; the first page's "
                "`deleted` lists the ids deleted since."
            )
        ],
    )
)
class ContactList(generics.ListCreateAPIView):
    """The patient's support contacts, in their order. The crisis lines come beside them
    on GET /support/."""

    serializer_class = ContactSerializer
    permission_classes = [PatientWritesStaffReads]
    filterset_class = patient_and_range("created_at")
    pagination_class = SyncWithDeletionsPagination
    sync_since: datetime | None = None

    def get_queryset(self) -> QuerySet[SupportContact]:
        found = records_visible_to(acting_user(self.request), SupportContact.objects.all())
        if self.request.method == "GET":
            self.sync_since = updated_since_query(self.request)
            if self.sync_since is not None:
                found = found.filter(updated_at__gte=self.sync_since)
        return found.order_by("enrollment_id", "position", "id")

    def deleted_ids(self, since: datetime) -> list[int]:
        """Contacts deleted since, of the patients listed (`?patient=` narrows both)."""
        gone = records_visible_to(
            acting_user(self.request),
            SupportContactDeletion.objects.filter(deleted_at__gte=since),
        )
        # The list's own filter set parsed `patient` already (a malformed one was a 400).
        filters = self.filterset_class(self.request.query_params, queryset=gone)
        patient = filters.form.cleaned_data.get("patient") if filters.is_valid() else None
        if patient is not None:
            gone = gone.filter(enrollment_id=patient)
        return list(gone.order_by("contact_id").values_list("contact_id", flat=True))

    def perform_create(self, serializer: Any) -> None:
        enrollment = enrollment_for_patient_user(request_user(self.request))
        serializer.instance = care.contact_create(
            enrollment=enrollment, data=dict(serializer.validated_data)
        )


class ContactDetail(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = ContactSerializer
    permission_classes = [PatientWritesStaffReads]
    http_method_names = ["get", "patch", "delete"]

    def get_queryset(self) -> QuerySet[SupportContact]:
        return records_visible_to(acting_user(self.request), SupportContact.objects.all())

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = care.contact_update(
            contact=serializer.instance, data=dict(serializer.validated_data)
        )

    def perform_destroy(self, instance: SupportContact) -> None:
        care.contact_delete(contact=instance)


class ReorderSerializer(StrictSerializer):
    ids = BoundedListField(child=IdField(), max_length=50)


class ContactReorder(APIView):
    permission_classes = [IsPatient]

    @extend_schema(request=ReorderSerializer, responses={200: ContactSerializer(many=True)})
    def post(self, request: Request) -> Response:
        serializer = ReorderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        enrollment = enrollment_for_patient_user(request_user(request))
        contacts = care.contacts_reorder(
            enrollment=enrollment, ordered_ids=serializer.validated_data["ids"]
        )
        return Response(ContactSerializer(contacts, many=True).data)


class SupportView(APIView):
    """Support contacts in order, and the crisis resources, always, read-only."""

    permission_classes = [IsPatient]

    @extend_schema(
        responses={
            200: inline_serializer(
                "Support",
                {
                    "support_contacts": ContactSerializer(many=True),
                    "crisis_resources": CrisisResourceSerializer(many=True),
                },
            )
        }
    )
    def get(self, request: Request) -> Response:
        enrollment = enrollment_for_patient_user(request_user(request))
        return Response(
            {
                "support_contacts": ContactSerializer(
                    enrollment.support_contacts.all(), many=True
                ).data,
                "crisis_resources": crisis_resources(),
            },
            status=status.HTTP_200_OK,
        )
