"""The program's reports by name, for the API and the dashboard alike: who may read them
(the program's supervisors), the range they cover, and their CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date

from backend.csv_safe import spreadsheet_cell
from backend.errors import NotAllowed, NotFound
from recovery.models import User
from recovery.selectors.access import is_program_supervisor
from recovery.selectors.reports import (
    Report,
    ReportRange,
    adherence_report,
    default_range,
    flags_report,
)
from recovery.selectors.service_days import service_days_report

REPORTS: dict[str, tuple[str, Callable[..., Report]]] = {
    "adherence": ("Check-in adherence and attendance by week", adherence_report),
    "flags": ("Flags by kind", flags_report),
    "service-days": ("IOP service days", service_days_report),
}


def may_read_program_reports(user: User) -> bool:
    return is_program_supervisor(user) and user.program is not None


def report_range(user: User, first: date | None, last: date | None) -> ReportRange:
    """The range asked for; what is not given, the default's (the last four weeks)."""
    assert user.program is not None
    default = default_range(user.program)
    return ReportRange(first or default.first, last or default.last)


def program_report(*, user: User, name: str, span: ReportRange) -> Report:
    if not may_read_program_reports(user):
        raise NotAllowed(message="Only supervisors read the program's reports.")
    if name not in REPORTS:
        raise NotFound(message="No such report.")
    return REPORTS[name][1](user=user, span=span)


def report_csv(report: Report) -> str:
    out = io.StringIO()
    csv.writer(out).writerows([spreadsheet_cell(v) for v in row] for row in report.rows)
    return out.getvalue()
