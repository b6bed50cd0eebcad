"""Writes of the notifications app. recovery/ calls these; nothing here knows the clinic.

`notify` / `notify_all` are the one way anything reaches a person: they queue rows in the
outbox (which is also the inbox), and the dispatcher delivers them."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import DateTimeField, Model, QuerySet, Value
from django.db.models.functions import Coalesce
from django.db.models.sql import InsertQuery
from django.utils import timezone

from backend import metrics
from backend.bounds import MAX_ID
from notifications.kinds import kind_named, staff_of, unmutable_kinds
from notifications.models import (
    AddressKind,
    Channel,
    Device,
    Notification,
    NotificationPreference,
    NotificationState,
)

logger = logging.getLogger(__name__)


def enqueue_dispatch_on_commit() -> None:
    """Ask a worker to dispatch now, after commit. If the broker is down the request still
    succeeds: the periodic dispatcher picks the row up on its next tick."""

    def enqueue() -> None:
        from notifications.tasks import dispatch_notifications_now

        try:
            dispatch_notifications_now.delay()
        except Exception as exc:
            logger.warning("could not enqueue dispatch, the tick will: %s", type(exc).__name__)

    transaction.on_commit(enqueue)


@dataclass(frozen=True)
class Message:
    """One message to some people: each recipient gets a row of their own, deduplicated by
    `key` per recipient, so asking again (a re-run sweep, a retried request) adds nothing.

    `recipients` are user ids; `staff` names staff groups as (group, scope id) pairs,
    resolved by the group's registered function when the message is queued. `title` and
    `body` are the inbox text (the authenticated app shows it); the push carries only the
    kind's generic text. `push=False` keeps a message to the websocket and the inbox."""

    kind: str
    key: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    recipients: Collection[int] = ()
    staff: Collection[tuple[str, int]] = ()
    due_at: datetime | None = None
    expires_at: datetime | None = None
    topic: str = ""
    urgent: bool | None = None
    title: str = ""
    body: str = ""
    push: bool = True


def notify(
    *,
    kind: str,
    key: str,
    payload: Mapping[str, Any],
    recipients: Collection[int] = (),
    staff: Collection[tuple[str, int]] = (),
    due_at: datetime | None = None,
    expires_at: datetime | None = None,
    topic: str = "",
    urgent: bool | None = None,
    title: str = "",
    body: str = "",
    push: bool = True,
) -> int:
    """Queue one message (see `Message`); returns how many rows were asked for."""
    message = Message(
        kind=kind,
        key=key,
        payload=payload,
        recipients=recipients,
        staff=staff,
        due_at=due_at,
        expires_at=expires_at,
        topic=topic,
        urgent=urgent,
        title=title,
        body=body,
        push=push,
    )
    return notify_all(messages=[message])


def notify_all(
    *, messages: Iterable[Message], now: datetime | None = None, known_users: Iterable[Any] = ()
) -> int:
    """Queue many messages at once: one INSERT for all of them. A message whose expiry has
    passed is dropped; a kind the recipient muted is not queued. `known_users`: recipients
    already read with their preference (`select_related("notification_preference")`, as
    AUTH_USER_SELECT_RELATED does for whoever is asking): their mutes are not read again."""
    now = now or timezone.now()
    messages = list(messages)
    members = _staff_members(messages)
    rows: dict[str, Notification] = {}
    for message in messages:
        kind = kind_named(message.kind)
        due_at = message.due_at or now
        expires_at = message.expires_at
        if expires_at is None and kind.ttl is not None:
            expires_at = due_at + kind.ttl
        if expires_at is not None and expires_at <= now:
            continue
        people = list(message.recipients)
        for group, scope in message.staff:
            people.extend(sorted(members[group].get(scope, ())))
        for recipient_id in people:
            dedupe_key = f"{message.key}:{recipient_id}"
            if dedupe_key in rows:
                continue  # the first word for a person wins (a care-team member who supervises)
            rows[dedupe_key] = Notification(
                recipient_id=recipient_id,
                kind=kind.name,
                dedupe_key=dedupe_key,
                topic=message.topic,
                urgent=kind.urgent if message.urgent is None else message.urgent,
                title=message.title or kind.push_title,
                body=message.body or kind.push_body,
                payload=dict(message.payload),
                due_at=due_at,
                expires_at=expires_at,
                push=message.push,
                created_at=now,
            )
    _queue(list(rows.values()), now=now, known_users=known_users)
    return len(rows)


def notify_email(
    *, kind: str, key: str, payload: Mapping[str, Any], due_at: datetime | None = None
) -> None:
    """Queue one email of a kind that composes its own message (`Kind.email`) when the
    dispatcher sends it. The payload names what to compose from (an opaque id), never the
    text or the address: those stay with the app that owns them until the moment of sending."""
    if kind_named(kind).email is None:
        raise ValueError(f"notification kind {kind!r} is not sent by email")
    now = timezone.now()
    notification = Notification(
        recipient_id=None,
        channel=Channel.EMAIL,
        kind=kind,
        dedupe_key=key,
        title="",
        body="",
        payload=dict(payload),
        due_at=due_at or now,
        created_at=now,
    )
    _queue([notification], now=now)


def _staff_members(messages: list[Message]) -> dict[str, dict[int, set[int]]]:
    scopes: dict[str, set[int]] = defaultdict(set)
    for message in messages:
        for group, scope in message.staff:
            scopes[group].add(scope)
    return defaultdict(dict, {group: staff_of(group, ids) for group, ids in scopes.items()})


def muted_kinds_by_user(
    *, user_ids: set[int], known_users: Iterable[Any] = ()
) -> dict[int, set[str]]:
    muted: dict[int, set[str]] = {}
    unread = set(user_ids)
    for user in known_users:
        if user.pk in unread and type(user).notification_preference.is_cached(user):
            unread.discard(user.pk)
            preference = getattr(user, "notification_preference", None)  # None: no row
            if preference is not None and preference.muted_kinds:
                muted[user.pk] = set(preference.muted_kinds) - unmutable_kinds()
    if not unread:
        return muted
    return muted | {
        user_id: set(kinds) - unmutable_kinds()
        for user_id, kinds in NotificationPreference.objects.filter(user_id__in=unread).values_list(
            "user_id", "muted_kinds"
        )
        if kinds
    }


def notifications_cancel_topic(*, topic: str) -> int:
    """Cancel every notification of a topic that has not gone out yet."""
    return Notification.objects.filter(topic=topic, state=NotificationState.PENDING).update(
        state=NotificationState.CANCELLED, last_error="cancelled"
    )


def notifications_cancel_kind(*, topics: Collection[str], kind: str) -> int:
    """Cancel the notifications of one kind on these topics that have not gone out yet
    (the reminders of many sessions, leaving their other news alone)."""
    pending = Notification.objects.filter(
        topic__in=list(topics), kind=kind, state=NotificationState.PENDING
    )
    return pending.update(state=NotificationState.CANCELLED, last_error="cancelled")


def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


# Where each channel's receipt is written: the websocket ack also stops replays.
RECEIPT_FIELDS = {"push": "push_received_at", "websocket": "acked_at"}


def notifications_receive(
    *, user_id: int, ids: Collection[int], channel: str, now: datetime | None = None
) -> int:
    """The app confirms these notifications of its user reached the device by `channel`
    ("push" or "websocket"). Records the first receipt per channel and overall; a repeat
    changes nothing. Returns how many of the ids are the user's (whatever their state:
    a push can be confirmed before the dispatcher has written that it was sent)."""
    ids = _real_ids(ids)
    if not ids:
        return 0
    return _stamp_receipt(
        Notification.objects.filter(recipient_id=user_id, id__in=ids), channel=channel, now=now
    )


def notifications_receive_many(
    *,
    receipts: Collection[tuple[int, Collection[int]]],
    channel: str,
    now: datetime | None = None,
) -> int:
    """`notifications_receive` for many users at once, (user id, ids) pairs: the acks of
    every socket of a server process in two statements instead of one per ack. An id that
    is not its user's is ignored. Returns how many rows were the acking user's."""
    claimed = {(user_id, i) for user_id, ids in receipts for i in _real_ids(ids)}
    if not claimed:
        return 0
    owners = Notification.objects.filter(id__in={i for _, i in claimed}).values_list(
        "id", "recipient_id"
    )
    theirs = [i for i, recipient_id in owners if (recipient_id, i) in claimed]
    if not theirs:
        return 0
    return _stamp_receipt(Notification.objects.filter(id__in=theirs), channel=channel, now=now)


def _real_ids(ids: Collection[int]) -> list[int]:
    # An id past 64 bits names no row, and SQLite cannot even compare with one.
    return [i for i in ids if 0 < i <= MAX_ID]


def _stamp_receipt(rows: QuerySet[Notification], *, channel: str, now: datetime | None) -> int:
    """The first receipt per channel and overall; a repeat changes nothing."""
    field = RECEIPT_FIELDS[channel]
    at = Value(now or timezone.now(), output_field=DateTimeField())
    return int(rows.update(received_at=Coalesce("received_at", at), **{field: Coalesce(field, at)}))


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
        pref.muted_kinds = sorted(set(muted_kinds) - unmutable_kinds())
    pref.quiet_start = quiet_start
    pref.quiet_end = quiet_end
    if timezone_name is not None:
        pref.timezone = timezone_name
    pref.save()
    return pref


def preference_language_set(*, user_id: int, language: str) -> NotificationPreference:
    """The language this user's generic push texts are written in."""
    pref, _ = NotificationPreference.objects.update_or_create(
        user_id=user_id, defaults={"language": language}
    )
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
    count = Device.objects.filter(id__in=device_ids, is_active=True).update(
        is_active=False, deactivated_reason=reason[:64]
    )
    metrics.DEVICES_DEACTIVATED.labels(reason=reason[:64]).inc(count)
    return count


def _queue(
    notifications: list[Notification], *, now: datetime, known_users: Iterable[Any] = ()
) -> None:
    """Insert unsaved rows, skipping dedupe keys already queued, so re-running a sweep
    never notifies twice."""
    unmutable = unmutable_kinds()
    muted = muted_kinds_by_user(
        user_ids={
            n.recipient_id
            for n in notifications
            if n.recipient_id is not None and n.kind not in unmutable
        },
        known_users=known_users,
    )
    notifications = [
        n
        for n in notifications
        if n.recipient_id is None or n.kind not in muted.get(n.recipient_id, ())
    ]
    if not notifications:
        return
    _insert_or_revive(notifications)
    if any(n.due_at <= now for n in notifications):
        enqueue_dispatch_on_commit()


# A message cancelled earlier and asked for again (a schedule set twice) is pending again,
# with the new timing and payload; one that is pending, sent or failed is left alone.
REVIVED = ("state", "due_at", "expires_at", "payload", "last_error")


def _insert_or_revive(notifications: list[Notification]) -> None:
    """One INSERT ... ON CONFLICT DO UPDATE ... WHERE per batch (PostgreSQL and SQLite
    alike): a new row, or a cancelled one revived, without reading back what was written."""
    connection = connections[router.db_for_write(Notification)]
    quote = connection.ops.quote_name
    table = quote(Notification._meta.db_table)
    fields = [f for f in Notification._meta.concrete_fields if not f.primary_key]
    column = {f.name: quote(f.column or f.name) for f in fields}
    revive = ", ".join(f"{column[name]} = excluded.{column[name]}" for name in REVIVED)
    suffix = (
        f" ON CONFLICT ({column['dedupe_key']}) DO UPDATE SET {revive}"
        f" WHERE {table}.{column['state']} = %s"
    )
    size = connection.ops.bulk_batch_size(fields, notifications) or len(notifications)
    with connection.cursor() as cursor:
        for start in range(0, len(notifications), size):
            query = InsertQuery(Notification)
            query.insert_values(fields, list[Model](notifications[start : start + size]))
            for statement, params in query.get_compiler(connection=connection).as_sql():
                cursor.execute(statement + suffix, (*params, NotificationState.CANCELLED))
