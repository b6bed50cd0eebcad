"""URLs of the program reports (issue 15): one path per report, so its name is the audit
trail's resource: reports/flags/ and reports/flags/csv/, named report-flags and
report-flags-csv."""

from django.urls import path

from recovery.api.reports import ProgramReportCsv, ProgramReportView
from recovery.selectors.program_reports import REPORTS

urlpatterns = [
    pattern
    for name in REPORTS
    for pattern in (
        path(
            f"reports/{name}/",
            ProgramReportView.as_view(report_name=name),
            name=f"report-{name}",
        ),
        path(
            f"reports/{name}/csv/",
            ProgramReportCsv.as_view(report_name=name),
            name=f"report-{name}-csv",
        ),
    )
]
