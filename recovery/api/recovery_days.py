"""Recovery days: the patient's counter at `me/recovery/`, their care team's view at
`patients/<id>/recovery/`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recovery.api.common import BoundedDateField, IsPatient, StrictSerializer, acting_user
from recovery.selectors.access import enrollment_for_patient_user, visible_enrollment
from recovery.selectors.recovery_days import recovery_view
from recovery.services.milestones import recovery_counter_set


class CounterSettingsSerializer(StrictSerializer):
    start_date = BoundedDateField(required=False, help_text="Your own first day; set once.")
    hidden = serializers.BooleanField(required=False)


class MyRecovery(APIView):
    permission_classes = [IsPatient]

    @extend_schema(responses={200: serializers.DictField()})
    def get(self, request: Request) -> Response:
        enrollment = enrollment_for_patient_user(acting_user(request))
        return Response(recovery_view(enrollment, for_patient=True))

    @extend_schema(
        request=CounterSettingsSerializer,
        responses={
            200: serializers.DictField(),
            422: OpenApiResponse(description="The start date is set once and is already set."),
        },
    )
    def patch(self, request: Request) -> Response:
        enrollment = enrollment_for_patient_user(acting_user(request))
        serializer = CounterSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        recovery_counter_set(enrollment=enrollment, **serializer.validated_data)
        return Response(recovery_view(enrollment, for_patient=True))


class PatientRecovery(APIView):
    """The care team sees the count and every milestone, hidden from the patient or not."""

    @extend_schema(responses={200: serializers.DictField()})
    def get(self, request: Request, pk: int) -> Response:
        user = acting_user(request)
        enrollment = visible_enrollment(user, pk)
        return Response(recovery_view(enrollment, for_patient=user.id == enrollment.patient_id))
