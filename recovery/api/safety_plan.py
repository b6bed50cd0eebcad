"""The safety plan: the patient at `me/safety-plan/`, their care team and the program's
supervisors at `patients/<id>/safety-plan/`. GET answers with an ETag and a 304 to a
matching If-None-Match: the app keeps the plan for when the network is worst and
revalidates it for a few bytes."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.cache import patch_vary_headers
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recovery.api.cards import SafetyPlanReadSerializer
from recovery.api.common import IdField, IsPatient, StrictSerializer, acting_user
from recovery.models import MAX_PLAN_TEXT, PlanSection
from recovery.selectors.access import shared_record_enrollment
from recovery.selectors.safety_plan import safety_plan_history, safety_plan_view
from recovery.services.safety_plan import MAX_ITEMS_PER_SECTION, safety_plan_save


class PlanItemSerializer(StrictSerializer):
    text = serializers.CharField(max_length=MAX_PLAN_TEXT, allow_blank=True, required=False)
    response = serializers.CharField(max_length=MAX_PLAN_TEXT, allow_blank=True, required=False)
    exercise = IdField(required=False, allow_null=True)
    contact = IdField(required=False, allow_null=True)


class PlanSectionsSerializer(StrictSerializer):
    """Only the sections sent are replaced."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            section: serializers.ListField(
                child=PlanItemSerializer(), required=False, max_length=MAX_ITEMS_PER_SECTION
            )
            for section in PlanSection.values
        }


class PlanWriteSerializer(StrictSerializer):
    base_version = serializers.IntegerField(
        min_value=0, help_text="The version the edit started from (0 for a new plan)."
    )
    sections = PlanSectionsSerializer()


def etag_of(body: Any) -> str:
    raw = json.dumps(body, cls=DjangoJSONEncoder, sort_keys=True).encode()
    return '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'


def _matches(header: str, etag: str) -> bool:
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return etag in tags or "*" in tags


class SafetyPlanView(APIView):
    @extend_schema(responses={200: SafetyPlanReadSerializer, 304: None})
    def get(self, request: Request, pk: int | None = None) -> Response:
        enrollment = shared_record_enrollment(acting_user(request), pk)
        body = safety_plan_view(enrollment)
        etag = etag_of(body)
        match = request.headers.get("If-None-Match", "")
        response = Response(status=304) if match and _matches(match, etag) else Response(body)
        response["ETag"] = etag
        response["Cache-Control"] = "private, no-cache"
        patch_vary_headers(response, ["Authorization", "Accept-Language"])
        return response

    @extend_schema(
        request=PlanWriteSerializer,
        responses={
            200: SafetyPlanReadSerializer,
            422: OpenApiResponse(description="Saved by someone else meanwhile: reload, redo."),
        },
    )
    def put(self, request: Request, pk: int | None = None) -> Response:
        user = acting_user(request)
        enrollment = shared_record_enrollment(user, pk)
        serializer = PlanWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        safety_plan_save(
            enrollment=enrollment,
            editor=user,
            base_version=data["base_version"],
            sections=data["sections"],
        )
        body = safety_plan_view(enrollment)
        response = Response(body)
        response["ETag"] = etag_of(body)
        return response


class SafetyPlanHistory(APIView):
    @extend_schema(responses={200: serializers.DictField()})
    def get(self, request: Request, pk: int | None = None) -> Response:
        enrollment = shared_record_enrollment(acting_user(request), pk)
        return Response({"versions": safety_plan_history(enrollment)})


class MySafetyPlan(SafetyPlanView):
    permission_classes = [IsPatient]


class MySafetyPlanHistory(SafetyPlanHistory):
    permission_classes = [IsPatient]
