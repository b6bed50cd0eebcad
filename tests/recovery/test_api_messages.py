"""Secure messages with the care team over the API: who sees which conversation, paging,
unread counts, read receipts, audit, encryption at rest, rate limit, discharge."""

from __future__ import annotations

from datetime import UTC, datetime
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from backend.throttling import ScopedRateThrottle
from recovery.models import AuditEntry, EnrollmentStatus, Message
from tests.conftest import client_for
from tests.factories import (
    CounselorFactory,
    EnrollmentFactory,
    ProgramFactory,
    SupervisorFactory,
)

pytestmark = pytest.mark.django_db

# A Wednesday, 10:00 in New York: the office (Monday to Friday, 9 to 5) is open.
OFFICE_OPEN = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _office_open():
    with time_machine.travel(OFFICE_OPEN, tick=True):
        yield


def _send(client, path: str, body: str = "Hello"):
    return client.post(path, {"body": body}, format="json")


def test_patient_and_counselor_write_as_themselves(enrollment, counselor):
    patient = client_for(enrollment.patient)
    sent = _send(patient, "/api/v1/me/conversation/messages/", "Rough night, can we talk?")
    assert sent.status_code == 201, sent.content
    assert sent.data["message"]["author_kind"] == "patient"
    assert sent.data["automatic_answer"] is None

    reply = _send(
        client_for(counselor),
        f"/api/v1/patients/{enrollment.id}/conversation/messages/",
        "Yes, I'm here.",
    )
    assert reply.status_code == 201
    assert reply.data["message"]["sender"] == counselor.id
    assert reply.data["message"]["sender_name"] == counselor.get_full_name()

    listed = patient.get("/api/v1/me/conversation/messages/")
    assert [m["body"] for m in listed.data["results"]] == [
        "Yes, I'm here.",
        "Rough night, can we talk?",
    ]


def test_the_supervisor_reads_and_answers_any_conversation_of_the_program(enrollment, supervisor):
    _send(client_for(enrollment.patient), "/api/v1/me/conversation/messages/")
    client = client_for(supervisor)
    listed = client.get(f"/api/v1/patients/{enrollment.id}/conversation/messages/")
    assert listed.status_code == 200
    assert len(listed.data["results"]) == 1
    assert (
        _send(client, f"/api/v1/patients/{enrollment.id}/conversation/messages/").status_code == 201
    )


@pytest.mark.parametrize("who", ["another_patient", "off_team_counselor", "other_program"])
def test_nobody_else_reaches_the_conversation(enrollment, program, who):
    _send(client_for(enrollment.patient), "/api/v1/me/conversation/messages/")
    outsider = {
        "another_patient": lambda: EnrollmentFactory(program=program).patient,
        "off_team_counselor": lambda: CounselorFactory(program=program),
        "other_program": lambda: SupervisorFactory(program=ProgramFactory()),
    }[who]()
    client = client_for(outsider)
    base = f"/api/v1/patients/{enrollment.id}/conversation/"
    assert client.get(base).status_code == 404
    assert client.get(base + "messages/").status_code == 404
    assert _send(client, base + "messages/").status_code == 404
    assert client.post(base + "read/", {"up_to": 1}, format="json").status_code == 404
    assert Message.objects.count() == 1


def test_staff_have_no_conversation_of_their_own(counselor):
    assert client_for(counselor).get("/api/v1/me/conversation/").status_code == 403


def test_every_conversation_shows_the_crisis_lines_and_office_hours(enrollment):
    summary = client_for(enrollment.patient).get("/api/v1/me/conversation/").data
    phones = {r["phone"] for r in summary["crisis_resources"]}
    assert {"988", "1-800-662-4357"} <= phones
    assert summary["office_hours"]["timezone"] == "America/New_York"


def test_unread_counts_and_read_receipts_for_both_sides(enrollment, counselor, supervisor):
    patient, staff = client_for(enrollment.patient), client_for(counselor)
    mine = f"/api/v1/patients/{enrollment.id}/conversation/"
    for text in ["one", "two"]:
        _send(patient, "/api/v1/me/conversation/messages/", text)
    assert staff.get(mine).data["unread"] == 2
    assert client_for(supervisor).get(mine).data["unread"] == 2
    overview = staff.get("/api/v1/conversations/").data
    assert overview["unread"] == 2
    assert overview["conversations"][0]["patient"] == enrollment.id

    newest = staff.get(mine + "messages/").data["results"][0]["id"]
    read = staff.post(mine + "read/", {"up_to": newest}, format="json")
    assert read.status_code == 200
    assert read.data["unread"] == 0
    # The supervisor's own count is theirs: the counselor reading it changes nothing.
    assert client_for(supervisor).get(mine).data["unread"] == 2
    receipts = patient.get("/api/v1/me/conversation/").data["read_receipts"]
    by_reader = {r["reader_id"]: r["last_read_id"] for r in receipts}
    assert by_reader[counselor.id] == newest

    _send(staff, mine + "messages/", "Got it")
    assert patient.get("/api/v1/me/conversation/").data["unread"] == 1
    # A marker never goes back.
    staff.post(mine + "read/", {"up_to": 1}, format="json")
    assert staff.get(mine).data["read_receipts"][-1]["last_read_id"] >= newest


def test_marking_an_id_of_no_message_is_a_clear_400(enrollment):
    response = client_for(enrollment.patient).post(
        "/api/v1/me/conversation/read/", {"up_to": 5}, format="json"
    )
    assert response.status_code == 400
    assert "up_to" in response.json()["error"]["fields"]


def test_paging_with_a_cursor_goes_back_in_time(enrollment):
    patient = client_for(enrollment.patient)
    for n in range(5):
        _send(patient, "/api/v1/me/conversation/messages/", f"m{n}")
    first = patient.get("/api/v1/me/conversation/messages/?page_size=2").data
    assert [m["body"] for m in first["results"]] == ["m4", "m3"]
    _send(patient, "/api/v1/me/conversation/messages/", "new one")  # arrives meanwhile
    second = patient.get(first["next"]).data
    assert [m["body"] for m in second["results"]] == ["m2", "m1"]


@pytest.mark.parametrize("page_size", ["true", "0", "101", "2.5"])
def test_a_page_size_that_is_not_a_whole_number_in_range_is_a_field_error(enrollment, page_size):
    # As on every other list: not silently the default page.
    response = client_for(enrollment.patient).get(
        "/api/v1/me/conversation/messages/", {"page_size": page_size}
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"page_size"}


@pytest.mark.parametrize(
    "body",
    [{"body": ""}, {"body": "   "}, {"body": "x" * 2001}, {}, {"body": "hi", "attachment": "x"}],
)
def test_text_only_and_bounded(enrollment, body):
    response = client_for(enrollment.patient).post(
        "/api/v1/me/conversation/messages/", body, format="json"
    )
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_the_text_is_encrypted_at_rest(enrollment):
    _send(client_for(enrollment.patient), "/api/v1/me/conversation/messages/", "secret words")
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM recovery_message")
        (stored,) = cursor.fetchone()
    assert "secret" not in stored
    assert Message.objects.get().body == "secret words"


def test_every_staff_read_is_audited_and_the_patients_own_is_not(enrollment, counselor):
    _send(client_for(enrollment.patient), "/api/v1/me/conversation/messages/")
    client_for(enrollment.patient).get("/api/v1/me/conversation/messages/")
    assert not AuditEntry.objects.filter(actor=enrollment.patient).exists()
    client_for(counselor).get(f"/api/v1/patients/{enrollment.id}/conversation/messages/")
    entry = AuditEntry.objects.filter(actor=counselor).get()
    assert (entry.enrollment_id, entry.action) == (enrollment.id, "read")


def test_sending_is_rate_limited(enrollment):
    rates = {**ScopedRateThrottle.THROTTLE_RATES, "messages": "3/min"}
    patient = client_for(enrollment.patient)
    with mock.patch.object(ScopedRateThrottle, "THROTTLE_RATES", rates):
        codes = [_send(patient, "/api/v1/me/conversation/messages/").status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    assert Message.objects.count() == 3
    assert patient.get("/api/v1/me/conversation/messages/").status_code == 200


def test_a_discharged_patients_conversation_is_read_only(enrollment, counselor):
    _send(client_for(enrollment.patient), "/api/v1/me/conversation/messages/")
    enrollment.status = EnrollmentStatus.DISCHARGED
    enrollment.discharged_at = timezone.now()
    enrollment.save()
    patient = client_for(enrollment.patient)
    refused = _send(patient, "/api/v1/me/conversation/messages/")
    assert refused.status_code == 403
    assert "988" in refused.json()["error"]["message"]
    staff = f"/api/v1/patients/{enrollment.id}/conversation/messages/"
    assert _send(client_for(counselor), staff).status_code == 403
    assert patient.get("/api/v1/me/conversation/messages/").status_code == 200
    assert patient.get("/api/v1/me/conversation/").data["read_only"] is True


def test_supervisors_set_the_office_hours_that_decide_the_automatic_answer(
    enrollment, counselor, supervisor
):
    hours = "/api/v1/program/office-hours/"
    body = {"days": [6, 7], "opens_at": "10:00", "closes_at": "14:00"}  # weekends only
    assert client_for(counselor).put(hours, body, format="json").status_code == 403
    bad = client_for(supervisor).put(hours, {**body, "closes_at": "09:00"}, format="json")
    assert bad.status_code == 400
    assert "closes_at" in bad.json()["error"]["fields"]
    saved = client_for(supervisor).put(hours, body, format="json")
    assert saved.status_code == 200
    assert client_for(counselor).get(hours).json()["days"] == [6, 7]
    # Wednesday 10:00 is now outside office hours: the answer points to Saturday 10:00.
    sent = _send(client_for(enrollment.patient), "/api/v1/me/conversation/messages/")
    assert "Saturday, December 5, 10:00 AM EST" in sent.data["automatic_answer"]["body"]


def test_the_caseload_shows_each_counselor_their_own_unread_count(enrollment, counselor, program):
    other = EnrollmentFactory(program=program, primary_counselor=counselor)
    for text in ["one", "two"]:
        _send(client_for(enrollment.patient), "/api/v1/me/conversation/messages/", text)
    staff = client_for(counselor)
    rows = {
        r["patient"]: r["unread_messages"] for r in staff.get("/api/v1/dashboard/caseload/").json()
    }
    assert rows == {enrollment.id: 2, other.id: 0}
    newest = staff.get(f"/api/v1/patients/{enrollment.id}/conversation/messages/").data["results"][
        0
    ]
    staff.post(
        f"/api/v1/patients/{enrollment.id}/conversation/read/",
        {"up_to": newest["id"]},
        format="json",
    )
    rows = {
        r["patient"]: r["unread_messages"] for r in staff.get("/api/v1/dashboard/caseload/").json()
    }
    assert rows[enrollment.id] == 0


def test_the_dashboard_shows_the_counselor_their_unread_messages(enrollment, counselor):
    from django.test import Client

    for text in ["one", "two", "three"]:
        _send(client_for(enrollment.patient), "/api/v1/me/conversation/messages/", text)
    browser = Client()
    browser.force_login(counselor)
    html = browser.get("/dashboard/").content.decode()
    assert 'data-unread-messages="3"' in html
    assert "3 unread messages" in html
