"""Websocket acks arriving together are written together, each only for its own user."""

from __future__ import annotations

import asyncio
from unittest import mock

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from notifications import acks
from notifications.models import Notification
from notifications.services import notifications_receive_many
from tests.factories import PatientUserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _reminders(count: int) -> list[Notification]:
    now = timezone.now()
    return [
        Notification.objects.create(
            recipient=PatientUserFactory(),
            kind="session_reminder",
            dedupe_key=f"ack-test-{n}",
            title="t",
            body="b",
            due_at=now,
            created_at=now,
        )
        for n in range(count)
    ]


@pytest.mark.asyncio
async def test_acks_of_many_sockets_at_once_are_written_in_one_go():
    rows = await database_sync_to_async(_reminders)(20)
    writes = mock.Mock(wraps=notifications_receive_many)

    with mock.patch.object(acks, "notifications_receive_many", writes):
        await asyncio.gather(
            *(acks.ack_received(user_id=row.recipient_id, ids=[row.id]) for row in rows)
        )

    assert writes.call_count <= 2  # not one per ack
    acked = await database_sync_to_async(
        lambda: Notification.objects.filter(acked_at__isnull=False).count()
    )()
    assert acked == 20


@pytest.mark.asyncio
async def test_a_failed_write_fails_the_sockets_that_waited_for_it():
    (row,) = await database_sync_to_async(_reminders)(1)

    with (
        mock.patch.object(acks, "notifications_receive_many", side_effect=RuntimeError("db")),
        pytest.raises(RuntimeError),
    ):
        await acks.ack_received(user_id=row.recipient_id, ids=[row.id])
    await acks.ack_received(user_id=row.recipient_id, ids=[row.id])  # the next one is written

    assert (await database_sync_to_async(Notification.objects.get)(id=row.id)).acked_at


def test_an_ack_of_someone_elses_notification_changes_nothing():
    mine, theirs = _reminders(2)

    count = notifications_receive_many(
        receipts=[(mine.recipient_id, [mine.id, theirs.id, 2**70])], channel="websocket"
    )

    assert count == 1
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.acked_at is not None
    assert mine.received_at == mine.acked_at
    assert theirs.acked_at is None
    assert theirs.received_at is None


def test_a_second_ack_keeps_the_first_receipt():
    (row,) = _reminders(1)
    notifications_receive_many(receipts=[(row.recipient_id, [row.id])], channel="websocket")
    row.refresh_from_db()
    first = row.acked_at

    notifications_receive_many(receipts=[(row.recipient_id, [row.id])], channel="websocket")

    row.refresh_from_db()
    assert row.acked_at == first
