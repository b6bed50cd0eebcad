"""Enrolling from the dashboard: the same services and reach as the API, the one-time code
shown once as text and as a QR code (never cached, never in a URL or a log), a new code,
discharge and readmission."""

from __future__ import annotations

import io
import logging
import re
from typing import Any

import pytest
import segno
from django.contrib.sessions.models import Session
from django.test import Client
from rest_framework.test import APIClient

from recovery.models import (
    CareTeamMember,
    Enrollment,
    EnrollmentChange,
    EnrollmentCode,
    EnrollmentStatus,
    LevelOfCare,
    User,
)
from recovery.web.enrollment import code_qr_payload
from tests.conftest import client_for
from tests.factories import CounselorFactory, EnrollmentFactory, ProgramFactory, SupervisorFactory

pytestmark = pytest.mark.django_db
ENROLL = "/dashboard/patients/new/"
CODE = re.compile(
    rb'data-testid="one-time-code"><span class="visually-hidden">Code: </span>'
    rb"([A-Z2-9]{5}-[A-Z2-9]{5})<"
)


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _enrollment_url(enrollment: Enrollment) -> str:
    return f"/dashboard/patients/{enrollment.id}/enrollment/"


def _shown_code(page: Any) -> str:
    found = CODE.search(page.content)
    assert found, "no one-time code on the page"
    return found.group(1).decode()


def _redeem(code: str) -> Any:
    return APIClient().post("/api/v1/auth/enrollment-code/", {"code": code}, format="json")


def _qr_path(svg: bytes) -> bytes:
    found = re.search(rb' d="([^"]+)"', svg)
    assert found
    return found.group(1)


def _enroll(client: Client, **fields: Any) -> Any:
    data = {"first_name": "Alex", "last_name": "Rivera", "timezone": "America/New_York"}
    data.update({"level_of_care": LevelOfCare.INTENSIVE_OUTPATIENT, **fields})
    return client.post(ENROLL, data)


@pytest.mark.parametrize("role", ["counselor", "supervisor"])
def test_staff_enroll_and_the_code_shown_once_redeems_in_the_app(role: str) -> None:
    program = ProgramFactory()
    user: Any = (CounselorFactory if role == "counselor" else SupervisorFactory)(program=program)
    colleague = CounselorFactory(program=program, first_name="Casey")
    client = browser(user)
    assert client.get(ENROLL).status_code == 200

    response = _enroll(client, care_team=[colleague.id], has_medication="on")

    enrollment = Enrollment.objects.get(patient__first_name="Alex")
    assert response.status_code == 302
    assert response["Location"] == _enrollment_url(enrollment)
    assert (enrollment.program_id, enrollment.primary_counselor_id) == (program.id, user.id)
    assert enrollment.has_medication is True
    assert set(
        CareTeamMember.objects.filter(enrollment=enrollment).values_list("counselor_id", flat=True)
    ) == {user.id, colleague.id}

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    code = _shown_code(page)
    # The QR code holds the redeem URI of exactly this code.
    expected = io.BytesIO()
    segno.make(code_qr_payload(code), error="m", micro=False).save(expected, kind="svg", scale=6)
    assert _qr_path(page.content) == _qr_path(expected.getvalue())
    assert code_qr_payload(code) == f"iop://redeem?code={code}"
    # Shown once: the next view of the page has no code.
    again = client.get(response["Location"])
    assert CODE.search(again.content) is None
    assert b"Issue a new code" in again.content

    redeemed = _redeem(code)
    assert redeemed.status_code == 201
    assert redeemed.json()["username"] == enrollment.patient.username
    # The API lists the patient the page enrolled.
    listed = client_for(user).get("/api/v1/patients/").json()["results"]
    assert [p["id"] for p in listed] == [enrollment.id]


def test_a_bad_enrollment_names_its_fields_and_saves_nothing() -> None:
    program = ProgramFactory(levels_of_care=[LevelOfCare.INTENSIVE_OUTPATIENT])
    client = browser(CounselorFactory(program=program))
    response = _enroll(
        client,
        first_name="",
        timezone="Mars/Olympus",
        start_date="2026-03-01",
        expected_end_date="2026-02-01",
        level_of_care=LevelOfCare.RESIDENTIAL,
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"first_name", "timezone", "expected_end_date", "level_of_care"} <= set(errors)
    assert not Enrollment.objects.exists()
    assert not User.objects.filter(role="patient").exists()


def test_a_new_code_replaces_the_old_one() -> None:
    counselor = CounselorFactory(program=ProgramFactory())
    client = browser(counselor)
    first = _shown_code(client.get(_enroll(client)["Location"]))
    enrollment = Enrollment.objects.get()

    issued = client.post(f"{_enrollment_url(enrollment)}code/")

    assert issued.status_code == 302
    second = _shown_code(client.get(issued["Location"]))
    assert second != first
    assert _redeem(first).status_code == 400
    assert _redeem(second).status_code == 201


def test_the_code_is_in_no_url_and_no_log(caplog: pytest.LogCaptureFixture) -> None:
    counselor = CounselorFactory(program=ProgramFactory())
    client = browser(counselor)
    with caplog.at_level(logging.DEBUG):
        enrolled = _enroll(client)
        code = _shown_code(client.get(enrolled["Location"]))
        reissued = client.post(f"{enrolled['Location']}code/")
        newer = _shown_code(client.get(reissued["Location"]))
    for secret in (code, newer, code.replace("-", ""), newer.replace("-", "")):
        assert secret not in enrolled["Location"] + reissued["Location"]
        assert secret not in caplog.text
    # Nor in a cookie, and no patient's name either (messages may travel in one).
    cookies = str(enrolled.cookies) + str(reissued.cookies) + str(client.cookies)
    for secret in (code, newer, "Alex", "Rivera"):
        assert secret not in cookies


def test_discharge_and_readmit_from_the_page_as_the_api_sees_them() -> None:
    program = ProgramFactory()
    counselor = CounselorFactory(program=program)
    enrollment: Any = EnrollmentFactory(program=program, primary_counselor=counselor)
    client = browser(counselor)
    url = _enrollment_url(enrollment)

    discharged = client.post(f"{url}discharge/", {"reason": "completed"})

    assert discharged.status_code == 302
    api = client_for(counselor)
    assert api.get(f"/api/v1/patients/{enrollment.id}/").json()["status"] == "discharged"
    page = client.get(url)
    assert b"Readmit" in page.content
    assert b"Issue a new code" not in page.content
    # A discharged patient gets no code, as in the API.
    client.post(f"{url}code/")
    assert not EnrollmentCode.objects.filter(enrollment=enrollment).exists()
    assert b"The patient is discharged." in client.get(url).content
    # Listed on the enroll page, to find them again.
    assert url.encode() in client.get(ENROLL).content

    readmitted = client.post(f"{url}readmit/", {"reason": "came back"})

    assert readmitted.status_code == 302
    assert api.get(f"/api/v1/patients/{enrollment.id}/").json()["status"] == "active"
    history = api.get(f"/api/v1/patients/{enrollment.id}/history/").json()["results"]
    assert [(h["new_value"], h["reason"]) for h in history] == [
        ("discharged", "completed"),
        ("active", "came back"),
    ]


def test_twice_is_refused_on_the_page_and_changes_nothing() -> None:
    program = ProgramFactory()
    counselor = CounselorFactory(program=program)
    enrollment: Any = EnrollmentFactory(program=program, primary_counselor=counselor)
    client = browser(counselor)
    refused = client.post(f"{_enrollment_url(enrollment)}readmit/", {"reason": "x"})
    assert refused.status_code == 400
    assert b"The patient is not discharged." in refused.content
    too_long = client.post(f"{_enrollment_url(enrollment)}discharge/", {"reason": "x" * 501})
    assert too_long.status_code == 400
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE
    assert not EnrollmentChange.objects.filter(field="status").exists()


def test_out_of_reach_is_404_and_patients_cannot_enroll() -> None:
    program = ProgramFactory()
    enrollment: Any = EnrollmentFactory(program=program)
    outsiders = [
        CounselorFactory(program=program),  # not on the care team
        SupervisorFactory(program=ProgramFactory()),  # another program
        CounselorFactory(program=ProgramFactory()),
    ]
    url = _enrollment_url(enrollment)
    for user in outsiders:
        client = browser(user)
        assert client.get(url).status_code == 404
        for action in ("code/", "discharge/", "readmit/"):
            assert client.post(f"{url}{action}", {"reason": "x"}).status_code == 404
    patient = browser(enrollment.patient)
    assert patient.get(ENROLL).status_code == 404
    assert _enroll(patient).status_code == 404
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE
    assert not EnrollmentCode.objects.exists()
    assert Enrollment.objects.count() == 1


def test_a_supervisor_acts_on_any_patient_of_the_program() -> None:
    program = ProgramFactory()
    enrollment: Any = EnrollmentFactory(program=program)
    client = browser(SupervisorFactory(program=program))
    issued = client.post(f"{_enrollment_url(enrollment)}code/")
    assert _redeem(_shown_code(client.get(issued["Location"]))).status_code == 201


def _session_holds(key: str) -> bool:
    return any(key in s.get_decoded() for s in Session.objects.all())


def test_the_code_leaves_the_session_on_the_next_request_whichever_it_is() -> None:
    program = ProgramFactory()
    counselor = CounselorFactory(program=program)
    client = browser(counselor)
    enrolled = _enroll(client)
    assert enrolled.status_code == 302
    assert _session_holds("enrollment_code_to_show")

    client.get("/dashboard/")  # the redirect not followed: another page instead

    assert not _session_holds("enrollment_code_to_show")
    assert CODE.search(client.get(enrolled["Location"]).content) is None


def test_signing_out_deletes_a_code_not_yet_shown() -> None:
    program = ProgramFactory()
    client = browser(CounselorFactory(program=program))
    assert _enroll(client).status_code == 302

    client.post("/dashboard/logout/")

    assert not _session_holds("enrollment_code_to_show")
