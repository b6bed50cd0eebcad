"""The stage and level-of-care suggestion for a patient (staff). Never applied: a
counselor confirms with POST /api/v1/patients/{id}/change/, or dismisses it with POST
/api/v1/patients/{id}/suggestion/dismiss/ (the same suggestion is then not offered again
for one suggestion window). Out of reach is 404.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import StrictSerializer, request_user
from recovery.api.common import IsClinician
from recovery.models import LevelOfCare, Stage, SuggestionDismissal
from recovery.selectors.access import visible_enrollment
from recovery.selectors.suggestion import care_suggestion, suggestion_dismissal
from recovery.services.suggestion import suggestion_dismiss


class DismissalSerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="enrollment_id", read_only=True)

    class Meta:
        model = SuggestionDismissal
        fields = [
            "patient",
            "suggested_stage",
            "suggested_level_of_care",
            "reason",
            "dismissed_by",
            "dismissed_at",
        ]
        read_only_fields = fields


class SuggestionSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    current_stage = serializers.ChoiceField(choices=Stage.choices)
    suggested_stage = serializers.ChoiceField(choices=Stage.choices, allow_null=True)
    current_level_of_care = serializers.ChoiceField(choices=LevelOfCare.choices)
    suggested_level_of_care = serializers.ChoiceField(choices=LevelOfCare.choices, allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())
    window_from = serializers.DateField()
    window_to = serializers.DateField()
    days_in_stage = serializers.IntegerField()
    checkin_adherence = serializers.FloatField(allow_null=True)
    use_days = serializers.IntegerField()
    positive_screens = serializers.IntegerField()
    missed_screens = serializers.IntegerField()
    confirm_with = serializers.CharField(
        help_text="Suggestions are never applied: POST here to make the change."
    )
    dismissed = DismissalSerializer(
        allow_null=True,
        help_text="The counselor's dismissal of this very suggestion, while it holds.",
    )


class PatientSuggestion(APIView):
    """What the record suggests for stage and level of care. Never applied: a counselor
    confirms with POST /api/v1/patients/{id}/change/."""

    permission_classes = [IsClinician]

    @extend_schema(responses={200: SuggestionSerializer})
    def get(self, request: Request, pk: int) -> Response:
        enrollment = visible_enrollment(request_user(request), pk)
        suggestion = care_suggestion(enrollment=enrollment)
        data = {
            **suggestion.__dict__,
            "patient": enrollment.id,
            "confirm_with": f"/api/v1/patients/{enrollment.id}/change/",
            "dismissed": suggestion_dismissal(enrollment=enrollment, suggestion=suggestion),
        }
        return Response(SuggestionSerializer(data).data)


class DismissSerializer(StrictSerializer):
    """The suggestion being dismissed, as GET .../suggestion/ gave it (null where that
    part suggested nothing)."""

    suggested_stage = serializers.ChoiceField(
        choices=Stage.choices, required=False, allow_null=True, default=None
    )
    suggested_level_of_care = serializers.ChoiceField(
        choices=LevelOfCare.choices, required=False, allow_null=True, default=None
    )
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        named = {"suggested_stage", "suggested_level_of_care"}
        if named & self.unparsed or any(attrs.get(name) for name in named):
            return {}
        return {"suggested_stage": ["Name the suggested stage or level of care."]}


class PatientSuggestionDismiss(APIView):
    """Not now: the same suggestion is not offered again for one suggestion window. 422
    when nothing is suggested or the suggestion is no longer the one named."""

    permission_classes = [IsClinician]

    @extend_schema(
        request=DismissSerializer,
        responses={
            201: DismissalSerializer,
            422: OpenApiResponse(
                description="Nothing is suggested, or the suggestion is no longer the one named."
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        enrollment = visible_enrollment(request_user(request), pk)
        serializer = DismissSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        dismissal = suggestion_dismiss(
            enrollment=enrollment, actor=request_user(request), **serializer.validated_data
        )
        return Response(DismissalSerializer(dismissal).data, status=201)
