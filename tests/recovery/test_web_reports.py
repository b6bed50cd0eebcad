"""The reports page on the dashboard: supervisors only, the three reports for a range of
dates with their CSV links, the same figures as the API, audited."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from backend.bounds import DATE_RANGE_MESSAGE
from recovery.models import AuditEntry, Flag
from recovery.services.sessions import attendance_record
from tests.factories import (
    CounselorFactory,
    EnrollmentFactory,
    ProgramFactory,
    SessionFactory,
    SupervisorFactory,
)

pytestmark = pytest.mark.django_db
RANGE = "start=2026-03-02&end=2026-03-08"


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(time_machine: Any) -> dict[str, Any]:
    time_machine.move_to(datetime(2026, 3, 20, 16, tzinfo=UTC), tick=False)
    program = ProgramFactory(timezone="America/New_York")
    supervisor = SupervisorFactory(program=program)
    enrollment = EnrollmentFactory(
        program=program, start_date=date(2026, 2, 23), patient__first_name="Rosa"
    )
    for day, hours in ((2, 3), (3, 3.5), (4, 2)):
        starts = datetime(2026, 3, day, 14, tzinfo=UTC)
        session = SessionFactory(
            program=program, starts_at=starts, ends_at=starts + timedelta(hours=hours)
        )
        session.patients.set([enrollment])
        attendance_record(
            session=session, enrollment=enrollment, status="present", actor=supervisor
        )
    return {"program": program, "supervisor": supervisor, "enrollment": enrollment}


def test_the_supervisor_reads_the_three_reports_for_a_range(world: dict[str, Any]) -> None:
    page = browser(world["supervisor"]).get(f"/dashboard/reports/?{RANGE}")
    assert page.status_code == 200
    html = page.content.decode()
    for title in ("Check-in adherence and attendance by week", "Flags by kind", "IOP service days"):
        assert title in html
    assert "/dashboard/reports/service-days.csv?start=2026-03-02&amp;end=2026-03-08" in html
    service = page.context["service"]["patients"][0]
    assert [(d["date"], d["hours"], d["service_day"]) for d in service["days"]] == [
        ("2026-03-02", 3.0, True),
        ("2026-03-03", 3.5, True),
        ("2026-03-04", 2.0, False),
    ]
    assert 'data-date="2026-03-04"' in html
    assert page.context["adherence"]["weeks"][0]["sessions_attended"] == 3
    trail = AuditEntry.objects.filter(actor=world["supervisor"], resource="dashboard-reports")
    assert list(trail.values_list("action", "enrollment_id")) == [("read", world["enrollment"].id)]


def test_the_csv_download_is_an_export(world: dict[str, Any]) -> None:
    download = browser(world["supervisor"]).get(f"/dashboard/reports/service-days.csv?{RANGE}")
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert "service-days-2026-03-02-to-2026-03-08.csv" in download["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [(r["date"], r["service_day"], r["week_qualifies"]) for r in rows] == [
        ("2026-03-02", "yes", "no"),
        ("2026-03-03", "yes", "no"),
        ("2026-03-04", "no", "no"),
    ]
    trail = AuditEntry.objects.filter(actor=world["supervisor"])
    assert list(trail.values_list("action", "resource")) == [("export", "report-service-days-csv")]


def test_a_bad_range_is_shown_on_its_field(world: dict[str, Any]) -> None:
    client = browser(world["supervisor"])
    page = client.get("/dashboard/reports/?start=2026-03-08&end=2026-03-02")
    assert page.status_code == 400
    assert "end" in page.context["form"].errors
    assert client.get("/dashboard/reports/flags.csv?start=nonsense").status_code == 400
    assert client.get("/dashboard/reports/payroll.csv").status_code == 404
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("url", ["/dashboard/reports/", "/dashboard/reports/flags.csv"])
def test_counselors_and_patients_get_404(world: dict[str, Any], url: str) -> None:
    for user in (CounselorFactory(program=world["program"]), world["enrollment"].patient):
        assert browser(user).get(url).status_code == 404
    assert not AuditEntry.objects.exists()
    counselor_page = browser(CounselorFactory(program=world["program"])).get("/dashboard/")
    assert b"/dashboard/reports/" not in counselor_page.content


def test_a_flag_resolved_on_the_dashboard_as_needing_no_action_counts_as_such(
    world: dict[str, Any],
) -> None:
    flag = Flag.objects.create(
        enrollment=world["enrollment"],
        kind="urge",
        severity=20,
        window_key="w",
        created_at=datetime(2026, 3, 20, 15, tzinfo=UTC),
    )
    client = browser(world["supervisor"])
    resolved = client.post(
        f"/dashboard/flags/{flag.id}/resolve/",
        {"outcome_note": "She was fine.", "resolution": "no_action_needed"},
    )
    assert resolved.status_code == 302
    flag.refresh_from_db()
    assert (flag.status, flag.resolution) == ("resolved", "no_action_needed")
    page = client.get("/dashboard/reports/?start=2026-03-16&end=2026-03-20")
    (urge, total) = page.context["flags"]
    assert (urge["kind"], urge["no_action_shown"], urge["resolve_median"]) == ("urge", "100%", "60")
    assert total["kind"] == "all"
    history = client.get("/dashboard/flags/resolved/").content.decode()
    assert "No action needed:</strong> She was fine." in history


@pytest.mark.parametrize(
    "query",
    [
        "start=9999-12-31&end=9999-12-31",
        "start=0001-01-01&end=0001-01-07",
        "start=2026-03-02&end=9999-12-31",
    ],
)
def test_dates_out_of_range_are_a_field_error_not_a_500(world: dict[str, Any], query: str) -> None:
    client = browser(world["supervisor"])
    page = client.get(f"/dashboard/reports/?{query}")
    assert page.status_code == 400
    assert DATE_RANGE_MESSAGE in str(page.context["form"].errors)
    assert client.get(f"/dashboard/reports/flags.csv?{query}").status_code == 400
    assert not AuditEntry.objects.exists()
