"""The questionnaire outcomes across a program (supervisors; JSON or CSV, audited) and
the patients not improving."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import request_user
from backend.errors import NotAllowed
from recovery.api.common import IsClinician
from recovery.selectors.access import is_program_supervisor
from recovery.selectors.questionnaire_report import (
    not_improving,
    program_report,
    program_report_rows,
)


class ProgramOutcomeReport(APIView):
    """Outcomes per instrument for the caller's program, as JSON or (`?output=csv`) CSV.
    Supervisors only; every patient read is in the audit trail."""

    permission_classes = [IsClinician]

    @extend_schema(
        responses={
            200: inline_serializer(
                "InstrumentOutcome",
                {
                    "instrument": serializers.CharField(),
                    "patients_with_two_or_more": serializers.IntegerField(),
                },
                many=True,
            )
        }
    )
    def get(self, request: Request) -> Any:
        actor = request_user(request)
        if not is_program_supervisor(actor):
            raise NotAllowed(message="Only supervisors read the program's outcome report.")
        report = program_report(user=actor)
        if request.query_params.get("output") == "csv":
            out = io.StringIO()
            csv.writer(out).writerows(program_report_rows(report))
            response = HttpResponse(out.getvalue(), content_type="text/csv")
            response["Content-Disposition"] = 'attachment; filename="outcomes.csv"'
            return response
        return Response(report)


class NotImproving(APIView):
    """Patients in your reach with no reliable improvement after the program's weeks."""

    permission_classes = [IsClinician]

    @extend_schema(
        responses={
            200: inline_serializer(
                "NotImprovingRow",
                {"patient": serializers.IntegerField(), "instrument": serializers.CharField()},
                many=True,
            )
        }
    )
    def get(self, request: Request) -> Response:
        return Response(not_improving(user=request_user(request)))
