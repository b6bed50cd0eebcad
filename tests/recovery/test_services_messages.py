"""Office hours and the automatic answer, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from notifications.models import Notification
from recovery.models import MessageAuthor
from recovery.office_hours import is_open, next_opening
from recovery.services.messages import message_send

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("sent", "opens", "wall"),
    [
        # Saturday night before spring-forward (Sunday 8 March 2026): Monday 9:00 is EDT.
        (datetime(2026, 3, 7, 23, 0, tzinfo=UTC), datetime(2026, 3, 9, 13, 0, tzinfo=UTC), "EDT"),
        # Saturday night before fall-back (Sunday 1 November 2026): Monday 9:00 is EST.
        (
            datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
            datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
            "EST",
        ),
    ],
)
def test_the_automatic_answer_names_the_local_opening_across_a_dst_change(
    enrollment, sent, opens, wall
):
    assert next_opening(enrollment.program, sent) == opens
    with time_machine.travel(sent, tick=False):
        result = message_send(enrollment=enrollment, sender=enrollment.patient, body="Hi")
    answer = result.automatic_answer
    assert answer is not None
    assert answer.author_kind == MessageAuthor.AUTOMATIC
    assert answer.sender is None
    assert f"Monday, {opens:%B} {opens.day}, 9:00 AM {wall}" in answer.body
    assert "988" in answer.body
    assert "1-800-662-4357" in answer.body


def test_one_automatic_answer_per_closed_spell(enrollment):
    friday_night = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # Friday 21:00 in New York
    with time_machine.travel(friday_night, tick=False):
        first = message_send(enrollment=enrollment, sender=enrollment.patient, body="one")
        second = message_send(enrollment=enrollment, sender=enrollment.patient, body="two")
    with time_machine.travel(datetime(2026, 12, 6, 18, 0, tzinfo=UTC), tick=False):  # Sunday
        third = message_send(enrollment=enrollment, sender=enrollment.patient, body="three")
    assert first.automatic_answer is not None
    assert second.automatic_answer is None
    assert third.automatic_answer is None
    # The next closed spell gets its own.
    with time_machine.travel(datetime(2026, 12, 8, 3, 0, tzinfo=UTC), tick=False):  # Mon 22:00
        fourth = message_send(enrollment=enrollment, sender=enrollment.patient, body="four")
    assert fourth.automatic_answer is not None


def test_no_automatic_answer_in_office_hours_nor_to_staff(enrollment, counselor):
    tuesday_morning = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    assert is_open(enrollment.program, tuesday_morning)
    with time_machine.travel(tuesday_morning, tick=False):
        result = message_send(enrollment=enrollment, sender=enrollment.patient, body="hi")
    assert result.automatic_answer is None
    with time_machine.travel(datetime(2026, 12, 6, 18, 0, tzinfo=UTC), tick=False):
        staff = message_send(enrollment=enrollment, sender=counselor, body="hello")
    assert staff.automatic_answer is None


def test_the_notification_names_no_text_and_skips_the_sender(enrollment, counselor, supervisor):
    with time_machine.travel(datetime(2026, 12, 1, 15, 0, tzinfo=UTC), tick=False):
        result = message_send(
            enrollment=enrollment, sender=enrollment.patient, body="private words"
        )
    rows = Notification.objects.filter(kind="care_message")
    assert {n.recipient_id for n in rows} == {counselor.id, supervisor.id}
    for row in rows:
        assert row.payload == {"enrollment_id": enrollment.id, "message_id": result.message.id}
        assert "private" not in row.title + row.body


def test_a_deactivated_or_moved_counselor_hears_of_no_new_message(
    enrollment, counselor, supervisor
):
    from recovery.models import CareTeamMember
    from tests.factories import CounselorFactory, ProgramFactory

    moved = CounselorFactory(program=enrollment.program)
    CareTeamMember.objects.create(enrollment=enrollment, counselor=moved)
    moved.program = ProgramFactory()
    moved.save()
    counselor.is_active = False
    counselor.save()
    with time_machine.travel(datetime(2026, 12, 1, 15, 0, tzinfo=UTC), tick=False):
        message_send(enrollment=enrollment, sender=enrollment.patient, body="anyone there?")
    rows = Notification.objects.filter(kind="care_message")
    assert {n.recipient_id for n in rows} == {supervisor.id}
