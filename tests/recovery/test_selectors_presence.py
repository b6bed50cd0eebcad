"""The counselor sees when each patient's app was last heard from, and "app silent since"
once the silence lasts the program's number of days: in the caseload API and the page."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from notifications.presence import heard_from
from tests.conftest import client_for
from tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db


def _by_patient(counselor) -> dict[int, dict]:
    response = client_for(counselor).get("/api/v1/dashboard/caseload/")
    assert response.status_code == 200
    return {row["patient"]: row for row in response.json()}


def test_the_caseload_shows_when_the_app_was_last_heard_from(program, counselor) -> None:
    recent = EnrollmentFactory(program=program, primary_counselor=counselor)
    silent = EnrollmentFactory(program=program, primary_counselor=counselor)
    never = EnrollmentFactory(program=program, primary_counselor=counselor)
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=4), tick=False):
        heard_from(user_id=silent.patient.id)
    with time_machine.travel(now - timedelta(hours=5), tick=False):
        # The app's own request: the patient's token, not a staff member's.
        assert client_for(recent.patient).get("/api/v1/notifications/").status_code == 200

    rows = _by_patient(counselor)

    assert rows[recent.id]["last_heard_at"] is not None
    assert rows[recent.id]["app_silent_since"] is None
    assert rows[silent.id]["last_heard_at"] == rows[silent.id]["app_silent_since"] is not None
    assert rows[never.id]["last_heard_at"] is None
    assert rows[never.id]["app_silent_since"] is None


def test_the_counselor_sees_app_silent_since_on_the_dashboard(program, counselor) -> None:
    silent = EnrollmentFactory(program=program, primary_counselor=counselor)
    fine = EnrollmentFactory(program=program, primary_counselor=counselor)
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=3, hours=2), tick=False):
        heard_from(user_id=silent.patient.id)
    with time_machine.travel(now - timedelta(days=1), tick=False):
        heard_from(user_id=fine.patient.id)

    browser = Client()
    browser.force_login(counselor)
    html = browser.get("/dashboard/").content.decode()

    rows = {
        enrollment_id: html[html.index(f'data-patient-id="{enrollment_id}"') :]
        for enrollment_id in (silent.id, fine.id)
    }
    assert "App silent" in rows[silent.id].split("</tr>")[0]
    assert "App silent" not in rows[fine.id].split("</tr>")[0]
    assert "App last heard from" in html
