"""The dispatcher: claims, leases, quiet hours, expiry, and never sending twice."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from notifications.claim import claim_due
from notifications.dispatch import dispatch_due
from notifications.models import Notification
from notifications.push import memory
from notifications.services import notify, preference_set
from tests.factories import DeviceFactory, PatientUserFactory

pytestmark = pytest.mark.django_db


def _queue(user, *, key: str, due_in: timedelta = timedelta(0), **extra):
    notify(
        recipients=[user.id],
        kind=extra.pop("kind", "session_reminder"),
        key=key,
        title="Reminder: Process group",
        body="Starts in 1 hour.",
        payload=extra.pop("payload", {}),
        due_at=timezone.now() + due_in,
        **extra,
    )
    return Notification.objects.get(dedupe_key=f"{key}:{user.id}")


def test_due_notifications_are_pushed_to_every_active_device_once():
    user = PatientUserFactory()
    phone, tablet = DeviceFactory(user=user), DeviceFactory(user=user, address_kind="fid")
    DeviceFactory(user=user, is_active=False)
    notification = _queue(user, key="a")
    report = dispatch_due()
    assert report.sent == 1
    assert sorted(m.device_id for m in memory.outbox) == sorted([phone.id, tablet.id])
    assert {m.address_kind for m in memory.outbox} == {"token", "fid"}
    notification.refresh_from_db()
    assert notification.state == "sent"
    assert dispatch_due().claimed == 0


def test_the_push_holds_only_generic_text_and_the_notification_id():
    user = PatientUserFactory()
    DeviceFactory(user=user)
    notification = _queue(user, key="a", payload={"title": "Process group", "craving": 9})
    dispatch_due()
    (message,) = memory.outbox
    assert message.data() == {"notification_id": str(notification.id)}
    assert "Process group" not in message.title + message.body


def test_nothing_is_sent_before_its_due_time(time_machine):
    user = PatientUserFactory()
    DeviceFactory(user=user)
    _queue(user, key="later", due_in=timedelta(minutes=10))
    assert dispatch_due().claimed == 0
    time_machine.move_to(timezone.now() + timedelta(minutes=11))
    assert dispatch_due().sent == 1


def test_an_expired_reminder_is_never_shown(time_machine):
    user = PatientUserFactory()
    DeviceFactory(user=user)
    notification = _queue(
        user, key="a", due_in=timedelta(minutes=1), expires_at=timezone.now() + timedelta(minutes=5)
    )
    time_machine.move_to(timezone.now() + timedelta(minutes=6))
    dispatch_due()
    notification.refresh_from_db()
    assert notification.state == "cancelled"
    assert memory.outbox == []


def test_the_same_dedupe_key_queues_once():
    user = PatientUserFactory()
    first = _queue(user, key="same")
    second = _queue(user, key="same")
    assert first.id == second.id
    assert Notification.objects.count() == 1


def test_quiet_hours_hold_non_urgent_pushes_until_they_end(time_machine):
    user = PatientUserFactory()
    DeviceFactory(user=user)
    preference_set(
        user_id=user.id,
        quiet_start=time(22, 0),
        quiet_end=time(7, 0),
        timezone_name="America/New_York",
    )
    # 23:30 in New York (EDT): inside quiet hours.
    time_machine.move_to(datetime(2026, 6, 2, 3, 30, tzinfo=UTC))
    notification = _queue(user, key="nudge", kind="checkin_nudge")
    urgent = _queue(user, key="crisis", kind="crisis_resources", urgent=True)
    report = dispatch_due()
    assert (report.sent, report.deferred) == (1, 1)
    notification.refresh_from_db()
    assert notification.state == "pending"
    assert notification.due_at == datetime(2026, 6, 2, 11, 0, tzinfo=UTC)  # 07:00 EDT
    assert [m.notification_id for m in memory.outbox] == [urgent.id]


def test_quiet_hours_never_hold_a_reminder_past_its_session(time_machine):
    user = PatientUserFactory()
    DeviceFactory(user=user)
    preference_set(
        user_id=user.id, quiet_start=time(22), quiet_end=time(7), timezone_name="America/New_York"
    )
    time_machine.move_to(datetime(2026, 6, 2, 3, 30, tzinfo=UTC))
    _queue(user, key="early-session", expires_at=datetime(2026, 6, 2, 10, 0, tzinfo=UTC))
    assert dispatch_due().sent == 1


def test_a_dispatcher_that_died_has_its_rows_claimed_again_after_the_lease(settings, time_machine):
    user = PatientUserFactory()
    DeviceFactory(user=user)
    _queue(user, key="a")
    stolen = claim_due(now=timezone.now(), limit=10, lease_seconds=60)
    assert len(stolen) == 1  # claimed, then the process "dies"
    assert dispatch_due().claimed == 0  # still leased
    time_machine.move_to(timezone.now() + timedelta(seconds=61))
    assert dispatch_due().sent == 1
    assert len(memory.outbox) == 1


def test_a_late_finish_from_a_dead_lease_does_not_overwrite_the_new_owner(time_machine):
    from notifications.dispatch import _finish

    user = PatientUserFactory()
    _queue(user, key="a")
    (old,) = claim_due(now=timezone.now(), limit=10, lease_seconds=1)
    time_machine.move_to(timezone.now() + timedelta(seconds=2))
    (new,) = claim_due(now=timezone.now(), limit=10, lease_seconds=60)
    _finish(old, state="failed", error="late")
    new.refresh_from_db()
    assert new.state == "sending"


def test_muting_after_queueing_still_silences_the_reminder():
    user = PatientUserFactory()
    DeviceFactory(user=user)
    notification = _queue(user, key="a")
    preference_set(user_id=user.id, muted_kinds=["session_reminder"])
    dispatch_due()
    notification.refresh_from_db()
    assert notification.state == "cancelled"
    assert memory.outbox == []


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_send_each_reminder_once():
    users = [PatientUserFactory() for _ in range(5)]
    for user in users:
        DeviceFactory(user=user)
    due = timezone.now() - timedelta(seconds=1)
    Notification.objects.bulk_create(
        Notification(
            recipient=users[i % 5],
            kind="session_reminder",
            dedupe_key=f"k{i}",
            title="t",
            body="b",
            due_at=due,
            created_at=due,
        )
        for i in range(200)
    )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def dispatcher() -> None:
        try:
            barrier.wait()
            dispatch_due(batch_size=17)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    pushed = [m.notification_id for m in memory.outbox]
    assert len(pushed) == 200
    assert len(set(pushed)) == 200
    assert Notification.objects.filter(state="sent").count() == 200


def test_a_reminder_claimed_by_a_worker_that_died_still_goes_out_before_it_expires(
    settings, time_machine
):
    """A 1-minute reminder (it expires when its session starts, 60 s after it was due) is
    claimed by a worker killed at once. The ticks that follow must still send it in time,
    not cancel it as expired after the (120 s) lease."""
    settings.NOTIFICATION_LEASE_SECONDS = 120
    user = PatientUserFactory()
    DeviceFactory(user=user)
    time_machine.move_to(datetime(2026, 6, 2, 13, 59, tzinfo=UTC), tick=False)
    starts_at = datetime(2026, 6, 2, 14, 0, tzinfo=UTC)
    reminder = _queue(user, key="one-minute", expires_at=starts_at)
    (claimed,) = claim_due(
        now=timezone.now(), limit=10, lease_seconds=settings.NOTIFICATION_LEASE_SECONDS
    )
    assert claimed.id == reminder.id  # ...and the worker is SIGKILLed here
    while timezone.now() < starts_at and not memory.outbox:
        time_machine.shift(timedelta(seconds=settings.DISPATCH_INTERVAL_SECONDS))
        dispatch_due()  # the next ticks, on the workers still alive
    reminder.refresh_from_db()
    assert reminder.state == "sent"
    assert reminder.sent_at is not None
    assert reminder.sent_at < starts_at
    assert [m.notification_id for m in memory.outbox] == [reminder.id]


def test_a_long_lived_row_keeps_the_full_lease():
    from notifications.claim import lease_until

    now = datetime(2026, 6, 2, 12, 0, tzinfo=UTC)
    assert lease_until(now=now, lease_seconds=120, expires_at=None) == now + timedelta(minutes=2)
    far = now + timedelta(hours=1)
    assert lease_until(now=now, lease_seconds=120, expires_at=far) == now + timedelta(minutes=2)
    soon = now + timedelta(seconds=60)
    assert lease_until(now=now, lease_seconds=120, expires_at=soon) == now + timedelta(seconds=30)


def test_an_event_the_socket_could_not_take_is_sent_again_on_the_next_tick(
    monkeypatch, time_machine
):
    """A socket whose queue is full misses the live event: the row is not counted as sent
    over the websocket, and the next tick sends it (the push went out once)."""
    from asgiref.sync import async_to_sync

    from notifications.layers import EmbeddedChannelLayer
    from notifications.realtime import user_group

    layer = EmbeddedChannelLayer(capacity=1)
    monkeypatch.setattr("notifications.realtime.get_channel_layer", lambda: layer)
    user, socket = PatientUserFactory(), "specific.phone!a"
    DeviceFactory(user=user)
    async_to_sync(layer.group_add)(user_group(user.id), socket)
    async_to_sync(layer.send)(socket, {"type": "push.event", "event": {"id": 0}})  # full
    notification = _queue(user, key="a")

    assert dispatch_due().retried == 1
    notification.refresh_from_db()
    assert notification.state == "pending"
    assert "websocket" not in notification.channel_results
    assert async_to_sync(layer.receive)(socket)["event"]["id"] == 0  # the app reads on

    time_machine.move_to(timezone.now() + timedelta(seconds=2))
    assert dispatch_due().sent == 1
    assert async_to_sync(layer.receive)(socket)["event"]["id"] == notification.id
    notification.refresh_from_db()
    assert (notification.state, notification.channel_results["websocket"]) == ("sent", "sent")
    assert len(memory.outbox) == 1  # the phone was pushed once


def test_a_row_whose_worker_died_is_claimed_before_rows_that_were_due_earlier(time_machine):
    user = PatientUserFactory()
    held = _queue(user, key="held")
    claim_due(now=timezone.now(), limit=10, lease_seconds=1)  # that worker then dies
    time_machine.move_to(timezone.now() + timedelta(seconds=5))
    for i in range(3):
        _queue(user, key=f"backlog-{i}", due_in=-timedelta(minutes=10))

    (first,) = claim_due(now=timezone.now(), limit=1, lease_seconds=60)
    rest = claim_due(now=timezone.now(), limit=10, lease_seconds=60)

    assert first.id == held.id
    assert len(rest) == 3
