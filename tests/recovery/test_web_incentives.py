"""The contingency management report on the dashboard: supervisors only, audited."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client

from recovery.models import AuditEntry
from tests.factories import CounselorFactory, EnrollmentFactory, ProgramFactory, SupervisorFactory

pytestmark = pytest.mark.django_db


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_supervisor_reads_the_report_page_and_its_csv() -> None:
    program = ProgramFactory()
    enrollment = EnrollmentFactory(program=program)
    supervisor = SupervisorFactory(program=program)
    page = browser(supervisor).get("/dashboard/incentives/")
    assert page.status_code == 200
    assert b"No protocol has been set yet." in page.content
    assert b"patient_year_cap_cents" in page.content
    download = browser(supervisor).get("/dashboard/incentives.csv")
    assert download["Content-Type"].startswith("text/csv")
    rows = dict(csv.reader(io.StringIO(download.content.decode())))
    assert rows["patient_year_cap_cents"] == "75000"
    trail = AuditEntry.objects.filter(actor=supervisor, resource="incentive-report")
    assert sorted(trail.values_list("action", "enrollment_id")) == [
        ("export", enrollment.id),
        ("read", enrollment.id),
    ]


@pytest.mark.parametrize("url", ["/dashboard/incentives/", "/dashboard/incentives.csv"])
def test_counselors_patients_and_other_programs_get_404(url: str) -> None:
    program = ProgramFactory()
    enrollment = EnrollmentFactory(program=program)
    for user in (CounselorFactory(program=program), enrollment.patient):
        assert browser(user).get(url).status_code == 404
    other = SupervisorFactory(program=ProgramFactory())
    assert browser(other).get(url).status_code == 200  # their own program's report
    assert not AuditEntry.objects.filter(enrollment_id=enrollment.id).exists()
