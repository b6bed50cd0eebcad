"""The program's reports (supervisors; anyone else 403): check-in adherence and attendance
by week, flags by kind, IOP service days. JSON at `reports/<name>/`, CSV at
`reports/<name>/csv/`; `start` and `end` are local dates in the program's zone (both
included; the last four weeks when not given). Every patient read is audited, and a CSV
download is also recorded as an export."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import BoundedDateField, StrictSerializer, request_user
from backend.errors import NotAllowed, ServiceError
from recovery.api.common import IsClinician
from recovery.selectors.program_reports import (
    may_read_program_reports,
    program_report,
    report_csv,
    report_range,
)
from recovery.selectors.reports import Report, range_problems
from recovery.services.audit import RequestMeta
from recovery.services.reports import report_export_audit

RANGE_PARAMETERS = [
    OpenApiParameter("start", OpenApiTypes.DATE, description="First local date (included)."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last local date (included)."),
]


class RangeSerializer(StrictSerializer):
    start = BoundedDateField(required=False)
    end = BoundedDateField(required=False)

    def check(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        return range_problems(attrs.get("start"), attrs.get("end"))


def _report(request: Request, name: str) -> Report:
    user = request_user(request)
    if not may_read_program_reports(user):
        raise NotAllowed(message="Only supervisors read the program's reports.")
    query = RangeSerializer(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    span = report_range(user, query.validated_data.get("start"), query.validated_data.get("end"))
    problems = range_problems(span.first, span.last)
    if problems:  # one end given, the other the default's
        raise ServiceError(problems)
    return program_report(user=user, name=name, span=span)


class ProgramReportView(APIView):
    """One report as JSON: `adherence`, `flags` or `service-days`."""

    permission_classes = [IsClinician]
    report_name = ""

    @extend_schema(parameters=RANGE_PARAMETERS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response(_report(request, self.report_name).data)


class ProgramReportCsv(APIView):
    """One report as CSV, for a spreadsheet or a billing office."""

    permission_classes = [IsClinician]
    report_name = ""

    @extend_schema(parameters=RANGE_PARAMETERS, responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request) -> HttpResponse:
        report = _report(request, self.report_name)
        report_export_audit(
            actor=request_user(request), report=report, meta=RequestMeta.of(request._request)
        )
        response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{report.name}-report.csv"'
        return response
