"""The stage and level-of-care suggestion for a patient (staff). Never applied: a
counselor confirms with POST /api/v1/patients/{id}/change/. Out of reach is 404.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import request_user
from recovery.api.common import IsClinician
from recovery.models import LevelOfCare, Stage
from recovery.selectors.access import visible_enrollment
from recovery.selectors.suggestion import care_suggestion


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
        }
        return Response(SuggestionSerializer(data).data)
