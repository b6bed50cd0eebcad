"""The contingency management report as a dashboard page and its CSV (supervisors; any
other staff member gets 404, as for anything out of reach on the dashboard)."""

from __future__ import annotations

from typing import cast

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from recovery.models import User
from recovery.selectors.access import is_program_supervisor
from recovery.selectors.incentives import incentive_report, report_csv, report_rows
from recovery.services.audit import RequestMeta
from recovery.services.incentive_program import incentive_report_audit
from recovery.web.views import _base_context, staff_required


def _supervisor(request: HttpRequest) -> User:
    user = cast(User, request.user)
    if not is_program_supervisor(user) or user.program is None:
        raise Http404
    return user


@require_safe
@staff_required
def incentive_report_page(request: HttpRequest) -> HttpResponse:
    user = _supervisor(request)
    assert user.program is not None
    report = incentive_report(user.program)
    incentive_report_audit(
        actor=user, program=user.program, as_csv=False, meta=RequestMeta.of(request)
    )
    return render(
        request,
        "dashboard/incentives.html",
        {**_base_context(request, "incentives"), "report": report, "rows": report_rows(report)},
    )


@require_safe
@staff_required
def incentive_report_download(request: HttpRequest) -> HttpResponse:
    user = _supervisor(request)
    assert user.program is not None
    report = incentive_report(user.program)
    incentive_report_audit(
        actor=user, program=user.program, as_csv=True, meta=RequestMeta.of(request)
    )
    response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="incentive-report.csv"'
    return response
