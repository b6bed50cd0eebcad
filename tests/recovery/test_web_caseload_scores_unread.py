"""The web caseload's questionnaire column (latest score, band, change since baseline,
questionnaires missed) and its unread message counts, with the JSON the page refreshes
them from (tests/e2e/test_messages.py drives the same page in Chromium)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from recovery.models import Enrollment, QuestionnaireAssignment
from recovery.services.messages import message_send, messages_mark_read
from recovery.services.questionnaires import questionnaire_submit
from recovery.web.caseload_scores import change_words, short_name
from tests.factories import CounselorFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def phq9_answers(total: int) -> dict[str, str]:
    answers = {}
    for index in range(1, 10):
        value = 0 if index == 9 else min(3, total)
        answers[str(index)] = str(value)
        total -= value
    return answers


def submit(enrollment: Enrollment, instrument: str, answers: dict[str, str], days_ago: int) -> None:
    questionnaire_submit(
        enrollment=enrollment,
        client_id=uuid.uuid4(),
        instrument=instrument,
        answers=answers,
        device_time=timezone.now() - timedelta(days=days_ago),
        device_timezone=enrollment.timezone,
    )


def row_of(html: str, enrollment: Enrollment) -> str:
    match = re.search(rf'<tr [^>]*data-patient-id="{enrollment.id}">(.*?)</tr>', html, re.S)
    assert match, f"no caseload row for {enrollment.id}"
    return match.group(1)


def text_of(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def scores_cell(html: str, enrollment: Enrollment) -> str:
    match = re.search(r"<td [^>]*data-scores>(.*?)</td>", row_of(html, enrollment), re.S)
    assert match
    return text_of(match.group(1))


def test_the_caseload_shows_each_instruments_latest_score_band_and_change(
    enrollment: Enrollment, counselor: Any, program: Any
) -> None:
    submit(enrollment, "phq9", phq9_answers(18), days_ago=28)
    submit(enrollment, "phq9", phq9_answers(11), days_ago=14)
    submit(enrollment, "phq9", phq9_answers(6), days_ago=0)
    submit(enrollment, "gad7", {str(i): "2" for i in range(1, 8)}, days_ago=1)
    untested = EnrollmentFactory(program=program, primary_counselor=counselor)

    html = browser(counselor).get("/dashboard/").content.decode()

    cell = scores_cell(html, enrollment)
    # Sorted by instrument code, as the API's caseload lists them.
    assert cell == "GAD-7 14 Moderate first score PHQ-9 6 Mild down 12 since baseline"
    assert 'title="Patient Health Questionnaire (PHQ-9)"' in row_of(html, enrollment)
    assert scores_cell(html, untested) == "None yet"


def test_a_worsening_score_reads_up_and_missed_questionnaires_show(
    enrollment: Enrollment, counselor: Any
) -> None:
    submit(enrollment, "phq9", phq9_answers(4), days_ago=7)
    submit(enrollment, "phq9", phq9_answers(21), days_ago=0)
    QuestionnaireAssignment.objects.create(
        enrollment=enrollment,
        instrument="gad7",
        due_at=timezone.now() - timedelta(days=3),
        closes_at=timezone.now() - timedelta(days=1),
        status="missed",
        source="schedule",
    )
    cell = scores_cell(browser(counselor).get("/dashboard/").content.decode(), enrollment)
    assert cell == "PHQ-9 21 Severe up 17 since baseline 1 missed"


def test_short_names_and_change_words() -> None:
    assert short_name("Brief Addiction Monitor (BAM)") == "BAM"
    assert short_name("AUDIT-C (alcohol consumption)") == "AUDIT-C"
    assert short_name("Columbia Suicide Severity Rating Scale, screen version") == (
        "Columbia Suicide Severity Rating Scale"
    )
    assert short_name("Our own check") == "Our own check"
    assert [change_words(c) for c in (None, 0, 1, -3)] == [
        "first score",
        "same as baseline",
        "up 1 since baseline",
        "down 3 since baseline",
    ]


def test_the_caseload_shows_a_counselors_unread_messages(
    enrollment: Enrollment, counselor: Any, program: Any
) -> None:
    quiet = EnrollmentFactory(program=program, primary_counselor=counselor)
    for text in ("one", "two"):
        message_send(enrollment=enrollment, sender=enrollment.patient, body=text)

    html = browser(counselor).get("/dashboard/").content.decode()
    assert 'data-unread-messages="2">2 unread messages</span>' in row_of(html, enrollment)
    # The badge is in every row, hidden at zero, for the page to fill in live.
    assert re.search(r'data-unread-messages="0" hidden>', row_of(html, quiet))
    assert 'data-unread-url="/dashboard/unread/"' in html
    assert "unread.js" in html


def test_the_unread_counts_json_is_the_staff_members_own_and_within_reach(
    enrollment: Enrollment, counselor: Any, supervisor: Any, program: Any
) -> None:
    quiet = EnrollmentFactory(program=program, primary_counselor=counselor)
    elsewhere = EnrollmentFactory()
    for text in ("one", "two"):
        message_send(enrollment=enrollment, sender=enrollment.patient, body=text)
    message_send(enrollment=elsewhere, sender=elsewhere.patient, body="hello")
    message_send(enrollment=enrollment, sender=supervisor, body="We read you")
    url = f"/dashboard/unread/?patient={enrollment.id}&patient={quiet.id}&patient={elsewhere.id}"

    counts = browser(counselor).get(url).json()["unread"]
    # Another program's patient is left out as if unknown; a colleague's answer is not
    # unread for anyone, and the colleague who answered has read what came before it.
    assert counts == {str(enrollment.id): 2, str(quiet.id): 0}
    assert browser(supervisor).get(url).json()["unread"][str(enrollment.id)] == 0

    newest = enrollment.conversation.messages.order_by("-id").first()
    assert newest is not None
    messages_mark_read(enrollment=enrollment, reader=counselor, up_to=newest.id)
    assert browser(counselor).get(url).json()["unread"][str(enrollment.id)] == 0
    # Each staff member's count is their own: a new message is unread for both again.
    message_send(enrollment=enrollment, sender=enrollment.patient, body="three")
    assert browser(counselor).get(url).json()["unread"][str(enrollment.id)] == 1
    assert browser(supervisor).get(url).json()["unread"][str(enrollment.id)] == 1
    off_team = CounselorFactory(program=program)
    assert browser(off_team).get(url).json()["unread"] == {}


def test_the_unread_counts_json_refuses_whoever_is_not_staff(enrollment: Enrollment) -> None:
    url = f"/dashboard/unread/?patient={enrollment.id}"
    assert Client().get(url, HTTP_ACCEPT="application/json").status_code == 401
    assert browser(enrollment.patient).get(url).status_code == 404
    assert Client().get("/dashboard/unread/?patient=x").status_code == 302
