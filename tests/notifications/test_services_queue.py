"""Queueing: one statement inserts a message or revives a cancelled one, and the mutes of a
recipient already read with their preference are not read again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import Notification, NotificationState
from notifications.services import (
    Message,
    notifications_cancel_topic,
    notify_all,
    preference_set,
)
from recovery.models import User
from tests.factories import PatientUserFactory

pytestmark = pytest.mark.django_db


def _nudge(user: User, *, due_in: timedelta, payload: dict[str, str]) -> Message:
    return Message(
        kind="checkin_nudge",
        key="nudge:window-1",
        recipients=[user.id],
        topic="window-1",
        payload=payload,
        due_at=timezone.now() + due_in,
    )


def _as_authenticated(user: User) -> User:
    return User.objects.select_related(*settings.AUTH_USER_SELECT_RELATED).get(id=user.id)


def test_a_cancelled_message_asked_for_again_is_pending_again_with_the_new_timing():
    user = PatientUserFactory()
    notify_all(messages=[_nudge(user, due_in=timedelta(hours=1), payload={"v": "1"})])
    assert notifications_cancel_topic(topic="window-1") == 1

    with CaptureQueriesContext(connection) as captured:
        notify_all(messages=[_nudge(user, due_in=timedelta(hours=2), payload={"v": "2"})])

    (row,) = Notification.objects.all()
    assert row.state == NotificationState.PENDING
    assert row.payload == {"v": "2"}
    assert row.last_error == ""
    assert row.due_at > timezone.now() + timedelta(hours=1, minutes=59)
    # Read the preference, then one statement: no read-back of what was written.
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["SELECT", "INSERT"]


def test_a_message_already_sent_is_left_alone_when_asked_for_again():
    user = PatientUserFactory()
    notify_all(messages=[_nudge(user, due_in=timedelta(0), payload={"v": "1"})])
    Notification.objects.update(state=NotificationState.SENT)

    notify_all(messages=[_nudge(user, due_in=timedelta(hours=2), payload={"v": "2"})])

    (row,) = Notification.objects.all()
    assert row.state == NotificationState.SENT
    assert row.payload == {"v": "1"}


def test_a_recipient_read_with_their_preference_costs_no_preference_query():
    muting = PatientUserFactory()
    preference_set(user_id=muting.id, muted_kinds=["checkin_nudge"])
    plain = PatientUserFactory()  # no preference row at all
    users = [_as_authenticated(muting), _as_authenticated(plain)]

    with CaptureQueriesContext(connection) as captured:
        for user in users:
            notify_all(
                messages=[_nudge(user, due_in=timedelta(hours=1), payload={})],
                known_users=users,
            )

    assert not any("notificationpreference" in q["sql"] for q in captured.captured_queries)
    assert list(Notification.objects.values_list("recipient_id", flat=True)) == [plain.id]


def test_a_recipient_not_read_with_their_preference_still_has_their_mutes_honoured():
    muting = PatientUserFactory()
    preference_set(user_id=muting.id, muted_kinds=["checkin_nudge"])
    notify_all(
        messages=[_nudge(muting, due_in=timedelta(hours=1), payload={})],
        known_users=[User.objects.get(id=muting.id)],  # read without the preference
    )
    assert not Notification.objects.exists()
