"""Claiming due notifications so that two dispatchers never send one twice.

PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED` picks rows no other dispatcher holds.
SQLite has no row locks: the claim is a conditional UPDATE that re-checks the state, and
only the rows stamped with our lease token are ours (the row count tells how many).
A dispatcher that dies leaves rows in `sending`; after their lease they are claimed again.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q

from notifications.models import Notification, NotificationState


def _claimable(now: datetime) -> Q:
    return Q(state=NotificationState.PENDING, due_at__lte=now) | Q(
        state=NotificationState.SENDING, leased_until__lt=now
    )


def claim_due(*, now: datetime, limit: int, lease_seconds: int) -> list[Notification]:
    token = uuid.uuid4()
    with transaction.atomic():
        candidates = Notification.objects.filter(_claimable(now)).order_by("due_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("id", flat=True)[:limit])
        if not ids:
            return []
        claimed = (
            Notification.objects.filter(id__in=ids)
            .filter(_claimable(now))
            .update(
                state=NotificationState.SENDING,
                lease_token=token,
                leased_until=now + timedelta(seconds=lease_seconds),
            )
        )
    if not claimed:
        return []
    return list(Notification.objects.filter(lease_token=token).order_by("id"))
