"""Reads of the notifications app."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from notifications.dispatch import event_for
from notifications.models import Notification, NotificationState

REPLAY_LIMIT = 200


def inbox_for(*, user_id: int, updated_since: datetime | None = None) -> QuerySet[Notification]:
    """What the user can see: everything that has gone out to them (with `updated_since`,
    only what went out or was read at or after it)."""
    found = Notification.objects.filter(recipient_id=user_id, state=NotificationState.SENT)
    if updated_since is not None:
        found = found.filter(Q(sent_at__gte=updated_since) | Q(read_at__gte=updated_since))
    return found.order_by("-id")


def unread_count(*, user_id: int) -> int:
    return inbox_for(user_id=user_id).filter(read_at__isnull=True).count()


def replay_events(*, user_id: int, after: int | None) -> list[dict[str, Any]]:
    """Delivered events the client has neither acknowledged nor read (over REST, perhaps on
    another device: reading is acknowledging), plus any after `after`."""
    condition = Q(acked_at__isnull=True, read_at__isnull=True)
    if after is not None:
        condition |= Q(id__gt=after)
    rows = inbox_for(user_id=user_id).filter(condition).order_by("id")[:REPLAY_LIMIT]
    return [event_for(n) for n in rows]


def preference_for(*, user_id: int) -> dict[str, Any]:
    from notifications.models import NotificationPreference

    pref = NotificationPreference.objects.filter(user_id=user_id).first()
    if pref is None:
        return {"muted_kinds": [], "quiet_start": None, "quiet_end": None, "timezone": "UTC"}
    return {
        "muted_kinds": pref.muted_kinds,
        "quiet_start": pref.quiet_start,
        "quiet_end": pref.quiet_end,
        "timezone": pref.timezone,
    }
