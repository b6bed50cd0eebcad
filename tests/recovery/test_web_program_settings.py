"""The program settings page: supervisors only, the same validation and audit as the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from recovery.models import AuditEntry, Program
from recovery.selectors.program_settings import program_settings
from tests.factories import CounselorFactory, EnrollmentFactory, ProgramFactory, SupervisorFactory

pytestmark = pytest.mark.django_db
URL = "/dashboard/settings/"


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form(program: Program, **changes: Any) -> dict[str, Any]:
    """The page's form as it is filled in, with `changes`."""
    values = program_settings(program) | changes
    values["reminder_offsets_minutes"] = ", ".join(
        str(v) for v in values["reminder_offsets_minutes"]
    )
    form = {
        key: ("" if value is None else value)
        for key, value in values.items()
        if not isinstance(value, bool)
    }
    return form | {key: "on" for key, value in values.items() if value is True}


def test_a_supervisor_sees_the_settings_and_saves_a_change() -> None:
    supervisor = SupervisorFactory(program=ProgramFactory())
    client = browser(supervisor)
    page = client.get(URL)
    assert page.status_code == 200
    assert b'value="1440, 60"' in page.content
    assert b"Craving flag threshold" in page.content

    saved = client.post(
        URL, _form(supervisor.program, craving_threshold=6, reminder_offsets_minutes=[120])
    )

    assert saved.status_code == 302
    program = Program.objects.get(id=supervisor.program_id)
    assert (program.craving_threshold, program.reminder_offsets_minutes) == (6, [120])
    entry = AuditEntry.objects.get(resource="program_settings")
    assert entry.changes == {
        "craving_threshold": {"old": 8, "new": 6},
        "reminder_offsets_minutes": {"old": [1440, 60], "new": [120]},
    }
    assert b"Settings saved." in client.get(URL).content


def test_a_bad_value_is_shown_on_its_field_and_nothing_is_saved() -> None:
    supervisor = SupervisorFactory(program=ProgramFactory())
    refused = browser(supervisor).post(
        URL, _form(supervisor.program, craving_threshold=12, quiet_start="22:00")
    )
    assert refused.status_code == 400
    assert "craving_threshold" in refused.context["form"].errors
    program = Program.objects.get(id=supervisor.program_id)
    assert program.craving_threshold == 8
    assert program.quiet_start is None
    assert not AuditEntry.objects.filter(resource="program_settings").exists()


def test_counselors_and_patients_get_404() -> None:
    program = ProgramFactory()
    enrollment = EnrollmentFactory(program=program)
    for user in (CounselorFactory(program=program), enrollment.patient):
        client = browser(user)
        assert client.get(URL).status_code == 404
        assert client.post(URL, _form(program, craving_threshold=2)).status_code == 404
    program.refresh_from_db()
    assert program.craving_threshold == 8
