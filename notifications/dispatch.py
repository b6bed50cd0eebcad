"""The dispatcher: claim what is due, deliver it over websocket and push (or by email, for
a kind sent by email), record results.

Every periodic tick calls `dispatch_due`. Rows are the truth: whatever a channel drops is
re-driven by the next tick, and what was already delivered to a device is never re-sent.
"""

from __future__ import annotations

import logging
import random
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from backend import metrics
from backend.timezones import local_date
from notifications.bulk_write import rows_update
from notifications.claim import claim_due
from notifications.kinds import kind_named, push_text, unmutable_kinds
from notifications.models import (
    Channel,
    Device,
    Notification,
    NotificationPreference,
    NotificationState,
)
from notifications.push import Outcome, PushMessage, PushResult, get_push_backend
from notifications.realtime import send_each_sync, user_group
from notifications.services import devices_deactivate

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 15 * 60


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    pushes: int = 0
    dead_devices: int = 0
    batches: int = 0
    errors: list[str] = field(default_factory=list)


def dispatch_due(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int = 1000
) -> DispatchReport:
    """Send everything due, in batches, until nothing due is left."""
    report = DispatchReport()
    limit = batch_size or settings.NOTIFICATION_BATCH_SIZE
    for _ in range(max_batches):
        tick = now or timezone.now()
        batch = claim_due(now=tick, limit=limit, lease_seconds=settings.NOTIFICATION_LEASE_SECONDS)
        if not batch:
            break
        report.batches += 1
        report.claimed += len(batch)
        deliver_batch(batch, now=tick, report=report)
        if len(batch) < limit:
            break
    return report


def event_for(notification: Notification) -> dict[str, Any]:
    """The websocket event: the full content, since the socket is authenticated."""
    return {
        "type": "notification",
        "id": notification.id,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "payload": notification.payload,
        "urgent": notification.urgent,
        "created_at": notification.created_at.isoformat(),
    }


def _quiet_until(pref: NotificationPreference | None, now: datetime) -> datetime | None:
    """The end of the recipient's quiet hours if `now` falls inside them."""
    if pref is None or pref.quiet_start is None or pref.quiet_end is None:
        return None
    zone = zoneinfo.ZoneInfo(pref.timezone)
    today = local_date(now, zone)
    start, end, at = pref.quiet_start, pref.quiet_end, now.astimezone(zone).time()
    inside = (start <= at < end) if start < end else (at >= start or at < end)
    if not inside:
        return None
    end_date = today if at < end else today + timedelta(days=1)
    return _local_instant(end_date, end, zone)


def _local_instant(day: Any, wall: time, zone: zoneinfo.ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=zone).astimezone(zoneinfo.ZoneInfo("UTC"))


def _backoff(attempts: int, retry_after: float | None) -> timedelta:
    base = min(MAX_BACKOFF_SECONDS, 2 ** min(attempts, 20))
    delay = max(base, retry_after or 0.0) * random.uniform(1.0, 1.5)
    return timedelta(seconds=delay)


def deliver_batch(batch: list[Notification], *, now: datetime, report: DispatchReport) -> None:
    # An email row has no app recipient (None): no preferences, no devices.
    recipient_ids = {n.recipient_id for n in batch if n.recipient_id is not None}
    prefs: dict[int | None, NotificationPreference] = {
        p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=recipient_ids)
    }
    devices: dict[int | None, list[Device]] = defaultdict(list)
    for device in Device.objects.filter(user_id__in=recipient_ids, is_active=True).order_by("id"):
        devices[device.user_id].append(device)

    to_send: list[Notification] = []
    # One transaction for the batch's bookkeeping: on SQLite one commit instead of one per row.
    with transaction.atomic():
        _sort_out(batch, prefs=prefs, now=now, report=report, to_send=to_send)
    emails = [n for n in to_send if n.channel == Channel.EMAIL]
    to_send = [n for n in to_send if n.channel != Channel.EMAIL]
    for notification in emails:
        _deliver_email(notification, now=now, report=report)
    if not to_send:
        return
    _deliver(to_send, devices=devices, prefs=prefs, now=now, report=report)


def _deliver_email(notification: Notification, *, now: datetime, report: DispatchReport) -> None:
    """Email: the kind composes the message now (and may refuse: a consent revoked since
    it was queued); trouble with the mail server is retried like a push."""
    hooks = kind_named(notification.kind).email
    assert hooks is not None, "an email row of a kind without email hooks"
    email = hooks.compose(notification, now=now)
    if isinstance(email, str):
        _finish(notification, state=NotificationState.CANCELLED, error=email)
        hooks.settle(notification, state=NotificationState.CANCELLED, reason=email)
        metrics.count_sends("email", ["refused"])
        report.expired += 1
        return
    try:
        send_mail(
            subject=email.subject,
            message=email.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[email.to],
        )
    except Exception as exc:  # the mail server's trouble: retry on a later tick, a few times
        error = type(exc).__name__
        logger.warning("email %s not sent: %s", notification.id, error)
        metrics.count_sends("email", ["retry"])
        notification.last_error = error
        if notification.attempts + 1 < settings.NOTIFICATION_MAX_ATTEMPTS:
            _release(
                notification, due_at=now + _backoff(notification.attempts, None), count_attempt=True
            )
            report.retried += 1
        else:
            _finish(notification, state=NotificationState.FAILED, error=error)
            hooks.settle(notification, state=NotificationState.FAILED, reason=error)
            report.failed += 1
        return
    notification.channel_results = {**notification.channel_results, "email": "sent"}
    _finish(notification, state=NotificationState.SENT, sent_at=timezone.now())
    hooks.settle(notification, state=NotificationState.SENT, reason="")
    metrics.count_sends("email", ["sent"])
    report.sent += 1


def _sort_out(
    batch: list[Notification],
    *,
    prefs: dict[int | None, NotificationPreference],
    now: datetime,
    report: DispatchReport,
    to_send: list[Notification],
) -> None:
    """Settle what must not go out now (expired, muted, quiet hours); keep the rest."""
    unmutable = unmutable_kinds()
    for notification in batch:
        if notification.expires_at is not None and notification.expires_at <= now:
            _finish(notification, state=NotificationState.CANCELLED, error="expired")
            report.expired += 1
            continue
        pref = prefs.get(notification.recipient_id)
        muted = pref is not None and notification.kind in pref.muted_kinds
        if muted and notification.kind not in unmutable:
            _finish(notification, state=NotificationState.CANCELLED, error="muted")
            report.expired += 1
            continue
        if not notification.urgent:
            quiet_end = _quiet_until(prefs.get(notification.recipient_id), now)
            # Wait out quiet hours, but never past what the notification is about.
            if quiet_end is not None and (
                notification.expires_at is None or quiet_end < notification.expires_at
            ):
                _release(notification, due_at=quiet_end, count_attempt=False)
                report.deferred += 1
                continue
        to_send.append(notification)


def _deliver(
    to_send: list[Notification],
    *,
    devices: dict[int | None, list[Device]],
    prefs: dict[int | None, NotificationPreference],
    now: datetime,
    report: DispatchReport,
) -> None:
    announce = [
        (n, user_group(n.recipient_id))
        for n in to_send
        if n.recipient_id is not None and n.channel_results.get("websocket") != "sent"
    ]
    made = send_each_sync([(group, event_for(n)) for n, group in announce])
    # A send the layer did not make stays undelivered: the row comes back on the next tick.
    websocket_missed = {n.id for (n, _), ok in zip(announce, made, strict=True) if not ok}
    metrics.count_sends("websocket", made)

    messages: list[PushMessage] = []
    for notification in to_send:
        if not notification.push:
            continue
        done = notification.channel_results.get("push", {})
        pref = prefs.get(notification.recipient_id)
        title, body = push_text(notification.kind, pref.language if pref else None)
        ttl = None
        if notification.expires_at is not None:
            ttl = max(1, int((notification.expires_at - now).total_seconds()))
        for device in devices.get(notification.recipient_id, []):
            if done.get(str(device.id)) in (Outcome.SENT, Outcome.DEAD, Outcome.FAILED):
                continue
            messages.append(
                PushMessage(
                    notification_id=notification.id,
                    device_id=device.id,
                    address=device.address,
                    address_kind=device.address_kind,
                    title=title,
                    body=body,
                    ttl_seconds=ttl,
                    urgent=notification.urgent,
                )
            )
    results: list[PushResult] = []
    if messages:
        try:
            results = get_push_backend().send_many(messages)
        except Exception as exc:  # the push service as a whole failed: retry the batch
            logger.exception("push backend failed")
            report.errors.append(type(exc).__name__)
            results = [
                PushResult(device_id=m.device_id, outcome=Outcome.RETRY, error=type(exc).__name__)
                for m in messages
            ]
    report.pushes += sum(1 for r in results if r.outcome == Outcome.SENT)
    metrics.count_sends("push", (r.outcome for r in results))

    per_notification: dict[int, list[PushResult]] = defaultdict(list)
    for message, result in zip(messages, results, strict=True):
        per_notification[message.notification_id].append(result)
    dead = [r.device_id for r in results if r.outcome == Outcome.DEAD]
    # Backoff counts from when the send returned, which can be long after the tick began.
    after = timezone.now()
    claimed_with = {n.id: n.lease_token for n in to_send}
    with transaction.atomic():
        if dead:
            report.dead_devices += devices_deactivate(device_ids=dead, reason="unregistered")
        for notification in to_send:
            _record(
                notification,
                per_notification.get(notification.id, []),
                websocket_ok=notification.id not in websocket_missed,
                after=after,
                report=report,
            )
        _save_outcomes(to_send, claimed_with=claimed_with)


OUTCOME_FIELDS = [
    "state",
    "due_at",
    "sent_at",
    "lease_token",
    "leased_until",
    "attempts",
    "channel_results",
    "last_error",
]


def _save_outcomes(rows: list[Notification], *, claimed_with: dict[int, Any]) -> None:
    """One UPDATE for the batch instead of one per row. Only rows still under the lease
    they were claimed with are written (a batch is claimed under one token)."""
    by_token: dict[Any, list[Notification]] = defaultdict(list)
    for row in rows:
        by_token[claimed_with[row.id]].append(row)
    for token, group in by_token.items():
        rows_update(Notification.objects.filter(lease_token=token), group, OUTCOME_FIELDS)


def _record(
    notification: Notification,
    results: list[PushResult],
    *,
    websocket_ok: bool,
    after: datetime,
    report: DispatchReport,
) -> None:
    """Write down what became of one notification: sent, retried later, or failed."""
    channel_results = dict(notification.channel_results)
    if websocket_ok:
        channel_results["websocket"] = "sent"
    push_results = dict(channel_results.get("push", {}))
    retry_after: float | None = None
    needs_retry = False
    paused_for: float | None = None
    last_error = ""
    for result in results:
        push_results[str(result.device_id)] = str(result.outcome)
        if result.outcome == Outcome.THROTTLED:
            paused_for = max(paused_for or 0.0, result.retry_after or 0.0)
            last_error = result.error
        elif result.outcome == Outcome.RETRY:
            needs_retry = True
            retry_after = max(retry_after or 0.0, result.retry_after or 0.0)
            last_error = result.error
        elif result.outcome == Outcome.FAILED:
            last_error = result.error
    channel_results["push"] = push_results
    notification.channel_results = channel_results
    if not websocket_ok:
        last_error = last_error or "websocket not sent"
    # The row is written later, in bulk, under the token it was claimed with (_save_outcomes).
    notification.lease_token = None
    notification.leased_until = None
    notification.last_error = last_error[:500]
    retry = needs_retry or not websocket_ok
    if paused_for is not None and not retry:
        # Our push quota was spent, not this notification's chances: no attempt is counted,
        # and it waits for the end of the pause (push/quota.py).
        notification.state = NotificationState.PENDING
        notification.due_at = after + timedelta(seconds=paused_for)
        report.deferred += 1
        return
    if paused_for is not None:
        retry_after = max(retry_after or 0.0, paused_for)
    if retry and notification.attempts + 1 < settings.NOTIFICATION_MAX_ATTEMPTS:
        notification.state = NotificationState.PENDING
        notification.due_at = after + _backoff(notification.attempts, retry_after)
        report.retried += 1
    elif needs_retry:
        notification.state = NotificationState.FAILED
        report.failed += 1
    else:
        # Also a websocket that never took it after every attempt: the row is in the inbox,
        # and the app gets it on its next (re)connect, which replays what was not acked.
        notification.state = NotificationState.SENT
        notification.sent_at = after
        report.sent += 1
    notification.attempts += 1


def _release(notification: Notification, *, due_at: datetime, count_attempt: bool) -> None:
    """Give the row back to the queue for a later tick; only if our lease still holds."""
    Notification.objects.filter(id=notification.id, lease_token=notification.lease_token).update(
        state=NotificationState.PENDING,
        due_at=due_at,
        lease_token=None,
        leased_until=None,
        attempts=F("attempts") + (1 if count_attempt else 0),
        channel_results=notification.channel_results,
        last_error=notification.last_error,
    )


def _finish(
    notification: Notification,
    *,
    state: str,
    error: str = "",
    sent_at: datetime | None = None,
) -> None:
    Notification.objects.filter(id=notification.id, lease_token=notification.lease_token).update(
        state=state,
        sent_at=sent_at,
        lease_token=None,
        leased_until=None,
        attempts=F("attempts") + 1,
        channel_results=notification.channel_results,
        last_error=error[:500],
    )
