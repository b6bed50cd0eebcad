"""Writes of the notifications app. recovery/ calls these; nothing here knows the clinic."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications.models import (
    AddressKind,
    Device,
    Notification,
    NotificationPreference,
    NotificationState,
)

logger = logging.getLogger(__name__)

# Kinds a user can never mute: safety comes first.
UNMUTABLE_KINDS = frozenset({"crisis_resources", "flag_raised", "flag_escalated"})


def enqueue_dispatch_on_commit() -> None:
    """Ask a worker to dispatch now, after commit. If the broker is down the request still
    succeeds: the periodic dispatcher picks the row up on its next tick."""

    def enqueue() -> None:
        from backend.tasks import dispatch_notifications_now

        try:
            dispatch_notifications_now.delay()
        except Exception as exc:
            logger.warning("could not enqueue dispatch, the tick will: %s", type(exc).__name__)

    transaction.on_commit(enqueue)


def notification_schedule(
    *,
    recipient_id: int,
    kind: str,
    dedupe_key: str,
    title: str,
    body: str,
    due_at: datetime,
    payload: dict[str, Any] | None = None,
    expires_at: datetime | None = None,
    topic: str = "",
    urgent: bool = False,
) -> Notification | None:
    """Queue one notification. The dedupe key makes this idempotent; a kind the recipient
    muted is not queued (returns None)."""
    now = timezone.now()
    if kind in muted_kinds_by_user(user_ids={recipient_id}).get(recipient_id, ()):
        return None
    if expires_at is not None and expires_at <= now:
        return None
    existing = Notification.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                recipient_id=recipient_id,
                kind=kind,
                dedupe_key=dedupe_key,
                title=title,
                body=body,
                payload=payload or {},
                due_at=due_at,
                expires_at=expires_at,
                topic=topic,
                urgent=urgent,
                created_at=now,
            )
    except IntegrityError:
        return Notification.objects.get(dedupe_key=dedupe_key)
    if due_at <= now:
        enqueue_dispatch_on_commit()
    return notification


def muted_kinds_by_user(*, user_ids: set[int]) -> dict[int, set[str]]:
    if not user_ids:
        return {}
    return {
        user_id: set(kinds) - UNMUTABLE_KINDS
        for user_id, kinds in NotificationPreference.objects.filter(
            user_id__in=user_ids
        ).values_list("user_id", "muted_kinds")
        if kinds
    }


def notifications_cancel_topic(*, topic: str) -> int:
    """Cancel every notification of a topic that has not gone out yet."""
    return Notification.objects.filter(topic=topic, state=NotificationState.PENDING).update(
        state=NotificationState.CANCELLED, last_error="cancelled"
    )


def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_ack(*, user_id: int, ids: list[int]) -> int:
    """The client confirms it received these events over the websocket."""
    return Notification.objects.filter(
        recipient_id=user_id, id__in=ids, acked_at__isnull=True
    ).update(acked_at=timezone.now())


def preference_set(
    *,
    user_id: int,
    muted_kinds: list[str] | None = None,
    quiet_start: Any = None,
    quiet_end: Any = None,
    timezone_name: str | None = None,
) -> NotificationPreference:
    pref, _ = NotificationPreference.objects.get_or_create(user_id=user_id)
    if muted_kinds is not None:
        pref.muted_kinds = sorted(set(muted_kinds) - UNMUTABLE_KINDS)
    pref.quiet_start = quiet_start
    pref.quiet_end = quiet_end
    if timezone_name is not None:
        pref.timezone = timezone_name
    pref.save()
    return pref


def device_register(
    *, user_id: int, address: str, address_kind: str, platform: str, app_version: str = ""
) -> Device:
    """Register or refresh a push address. An address registered by another user moves to
    this one (the phone changed hands or accounts)."""
    now = timezone.now()
    with transaction.atomic():
        device = (
            Device.objects.select_for_update()
            .filter(address_kind=address_kind, address=address)
            .first()
        )
        if device is None:
            try:
                with transaction.atomic():
                    return Device.objects.create(
                        user_id=user_id,
                        address=address,
                        address_kind=address_kind,
                        platform=platform,
                        app_version=app_version,
                        last_seen_at=now,
                    )
            except IntegrityError:
                device = Device.objects.select_for_update().get(
                    address_kind=address_kind, address=address
                )
        device.user_id = user_id
        device.platform = platform
        device.app_version = app_version
        device.is_active = True
        device.deactivated_reason = ""
        device.last_seen_at = now
        device.save()
        return device


def device_unregister(*, user_id: int, address: str, address_kind: str = AddressKind.TOKEN) -> int:
    deleted, _ = Device.objects.filter(
        user_id=user_id, address=address, address_kind=address_kind
    ).delete()
    return deleted


def devices_deactivate(*, device_ids: list[int], reason: str) -> int:
    return Device.objects.filter(id__in=device_ids, is_active=True).update(
        is_active=False, deactivated_reason=reason[:64]
    )


def notifications_schedule_bulk(*, notifications: list[Notification]) -> None:
    """Queue many notifications at once (unsaved rows, dedupe keys set). Duplicates by
    dedupe key are skipped, so re-running a sweep never notifies twice."""
    muted = muted_kinds_by_user(
        user_ids={n.recipient_id for n in notifications if n.kind not in UNMUTABLE_KINDS}
    )
    notifications = [n for n in notifications if n.kind not in muted.get(n.recipient_id, ())]
    if not notifications:
        return
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    # A message cancelled earlier and asked for again (a schedule set twice) is revived.
    wanted = {n.dedupe_key: n for n in notifications}
    for revived in Notification.objects.filter(
        dedupe_key__in=list(wanted), state=NotificationState.CANCELLED
    ):
        fresh = wanted[revived.dedupe_key]
        revived.state = NotificationState.PENDING
        revived.due_at, revived.expires_at = fresh.due_at, fresh.expires_at
        revived.payload, revived.last_error = fresh.payload, ""
        revived.save(update_fields=["state", "due_at", "expires_at", "payload", "last_error"])
    now = timezone.now()
    if any(n.due_at <= now for n in notifications):
        enqueue_dispatch_on_commit()
