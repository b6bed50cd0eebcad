"""Writing a batch's outcomes in one UPDATE: each row gets its own values, and only the
rows of the queryset (still under the caller's lease) are written."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.bulk_write import ROWS_PER_UPDATE, rows_update
from notifications.models import Notification
from tests.factories import PatientUserFactory

pytestmark = pytest.mark.django_db


def _rows(count: int, *, token: uuid.UUID) -> list[Notification]:
    user: Any = PatientUserFactory()
    now = timezone.now()
    return Notification.objects.bulk_create(
        Notification(
            recipient=user,
            kind="session_reminder",
            dedupe_key=f"bulk-{token}-{i}",
            title="Reminder",
            body="Starts soon.",
            due_at=now - timedelta(minutes=i),
            created_at=now,
            state="sending",
            lease_token=token,
            leased_until=now + timedelta(minutes=2),
        )
        for i in range(count)
    )


def test_every_row_gets_its_own_values_and_the_shared_ones() -> None:
    token = uuid.uuid4()
    rows = _rows(3, token=token)
    sent_at = timezone.now()
    for i, row in enumerate(rows):
        row.state = "sent" if i < 2 else "pending"
        row.sent_at = sent_at if i < 2 else None
        row.due_at = row.due_at + timedelta(hours=i)
        row.attempts = i
        row.channel_results = {"push": {str(100 + i): "sent"}, "websocket": "sent"}
        row.lease_token = None
        row.leased_until = None
    fields = ["state", "due_at", "sent_at", "attempts", "channel_results"]
    written = rows_update(
        Notification.objects.filter(lease_token=token),
        rows,
        [*fields, "lease_token", "leased_until"],
    )
    assert written == 3
    for row in rows:
        stored = Notification.objects.get(id=row.id)
        assert [getattr(stored, f) for f in fields] == [getattr(row, f) for f in fields]
        assert stored.lease_token is None
        assert stored.leased_until is None


def test_rows_outside_the_queryset_are_left_alone() -> None:
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    rows = _rows(2, token=mine)
    # The second row's lease ran out and another worker claimed it meanwhile.
    Notification.objects.filter(id=rows[1].id).update(lease_token=theirs)
    for i, row in enumerate(rows):
        row.state = "sent"
        row.channel_results = {"push": {str(i): "sent"}}
    assert (
        rows_update(
            Notification.objects.filter(lease_token=mine), rows, ["state", "channel_results"]
        )
        == 1
    )
    assert Notification.objects.get(id=rows[0].id).channel_results == {"push": {"0": "sent"}}
    taken = Notification.objects.get(id=rows[1].id)
    assert (taken.state, taken.channel_results) == ("sending", {})


def test_a_large_batch_is_one_statement_per_chunk() -> None:
    token = uuid.uuid4()
    rows = _rows(ROWS_PER_UPDATE + 1, token=token)
    for i, row in enumerate(rows):
        row.state = "sent"
        row.channel_results = {"push": {str(i): "sent"}}
    with CaptureQueriesContext(connection) as queries:
        rows_update(
            Notification.objects.filter(lease_token=token), rows, ["state", "channel_results"]
        )
    assert len(queries) == 2
    assert Notification.objects.filter(state="sent").count() == ROWS_PER_UPDATE + 1
    last = Notification.objects.get(id=rows[-1].id)
    assert last.channel_results == {"push": {str(ROWS_PER_UPDATE): "sent"}}
