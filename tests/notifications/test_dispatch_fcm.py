"""The dispatcher with the FCM backend: real rows, the real SDK, real HTTP to a fake FCM."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from notifications.dispatch import dispatch_due
from notifications.kinds import push_text
from notifications.models import Device, Notification, NotificationState
from notifications.push import reset_push_backends
from notifications.push.fcm import close_fcm
from recovery.notification_kinds import NotificationKind
from tests.factories import DeviceFactory, PatientUserFactory
from tests.fakes.fcm_server import FakeFCMServer

pytestmark = pytest.mark.django_db

# What the inbox row may say and a push must never carry.
PHI_TITLE = "Craving check: alcohol"
PHI_BODY = "Dana, your counselor Lee at Harbor IOP flagged a high craving score"
PHI_PAYLOAD = {"substance": "alcohol", "flag_kind": "high_craving", "counselor": "Lee"}


@pytest.fixture
def fcm(settings: Any) -> Iterator[FakeFCMServer]:
    with FakeFCMServer() as server:
        use_fcm(settings, server.url)
        yield server


def use_fcm(settings: Any, url: str) -> None:
    settings.PUSH_BACKEND = "fcm"
    settings.FCM_ENDPOINT = url
    settings.FIREBASE_PROJECT_ID = ""
    settings.FIREBASE_CREDENTIALS = ""
    settings.FCM_MAX_CONCURRENCY = 20
    reset_push_backends()


@pytest.fixture(autouse=True)
def _close_fcm() -> Iterator[None]:
    yield
    reset_push_backends()
    close_fcm()


def notify(
    user: Any,
    *,
    key: str,
    now: datetime | None = None,
    expires_at: datetime | None = None,
    urgent: bool = False,
) -> Notification:
    now = now or timezone.now()
    return Notification.objects.create(
        recipient=user,
        kind=NotificationKind.CHECKIN_NUDGE,
        dedupe_key=key,
        urgent=urgent,
        title=PHI_TITLE,
        body=PHI_BODY,
        payload=PHI_PAYLOAD,
        due_at=now - timedelta(seconds=1),
        expires_at=expires_at,
        created_at=now,
    )


def test_token_and_fid_devices_each_get_one_generic_push(fcm: FakeFCMServer) -> None:
    patient = PatientUserFactory()
    DeviceFactory(user=patient, address="tok-android-1", address_kind="token")
    DeviceFactory(user=patient, address="fid-ios-1", address_kind="fid", platform="ios")
    notification = notify(patient, key="n1")

    report = dispatch_due()

    assert (report.sent, report.pushes, report.retried) == (1, 2, 0)
    assert sorted(fcm.targets()) == ["fid-ios-1", "tok-android-1"]
    by_target = {m.get("token") or m.get("fid"): m for m in fcm.received}
    assert "fid" in by_target["fid-ios-1"]
    assert "token" in by_target["tok-android-1"]
    title, body = push_text(NotificationKind.CHECKIN_NUDGE)
    for message in fcm.received:
        assert message["data"] == {"notification_id": str(notification.id)}
        assert message["notification"] == {"title": title, "body": body}
        wire = json.dumps(message).lower()
        for secret in ("alcohol", "craving", "dana", "lee", "harbor", "counselor", "flag"):
            assert secret not in wire
    notification.refresh_from_db()
    assert notification.state == NotificationState.SENT
    assert set(notification.channel_results["push"].values()) == {"sent"}


def test_dead_addresses_are_deactivated_and_never_tried_again(fcm: FakeFCMServer) -> None:
    patient = PatientUserFactory()
    alive = DeviceFactory(user=patient, address="ok-1")
    dead = [
        DeviceFactory(user=patient, address=address)
        for address in ("dead-1", "invalid-1", "mismatch-1")
    ]
    notify(patient, key="n1")

    first = dispatch_due()

    assert (first.sent, first.pushes, first.dead_devices, first.retried) == (1, 1, 3, 0)
    for device in dead:
        device.refresh_from_db()
        assert not device.is_active
        assert device.deactivated_reason == "unregistered"
    alive.refresh_from_db()
    assert alive.is_active

    notify(patient, key="n2")
    second = dispatch_due()

    assert second.pushes == 1
    assert fcm.targets() == ["ok-1", "ok-1"]
    for device in dead:
        assert fcm.attempts(device.address) == 1


def test_throttled_and_unavailable_devices_are_retried_later_exactly_once(
    settings: Any,
) -> None:
    # Five 503s in a row outlast the SDK's own retries (1 + 4 attempts, about 7 s of its
    # backoff), so the dispatcher has to come back for this device on a later tick.
    start = timezone.now()
    with FakeFCMServer(flaky_failures=5) as fcm, time_machine.travel(start, tick=False) as clock:
        use_fcm(settings, fcm.url)
        patient = PatientUserFactory()
        for address in ("ok-1", "throttle-1", "flaky-1"):
            DeviceFactory(user=patient, address=address)
        notification = notify(patient, key="n1")

        first = dispatch_due()

        assert (first.pushes, first.retried, first.sent) == (1, 1, 0)
        notification.refresh_from_db()
        assert notification.state == NotificationState.PENDING
        assert notification.due_at >= start + timedelta(seconds=1)  # the 429's Retry-After
        outcomes = {"ok-1": "sent", "throttle-1": "throttled", "flaky-1": "retry"}
        assert notification.channel_results["push"] == {
            str(d.id): outcomes[d.address] for d in Device.objects.filter(user=patient)
        }
        assert dispatch_due().claimed == 0  # the backoff is not over yet

        clock.shift(timedelta(minutes=20))
        second = dispatch_due()

        assert (second.pushes, second.sent, second.retried) == (2, 1, 0)
        assert Counter(fcm.targets()) == {"ok-1": 1, "throttle-1": 1, "flaky-1": 1}
        assert fcm.attempts("ok-1") == 1
        assert fcm.attempts("throttle-1") == 2
        assert fcm.attempts("flaky-1") == 6
        notification.refresh_from_db()
        assert notification.state == NotificationState.SENT
        assert notification.attempts == 2
        assert Device.objects.filter(user=patient, is_active=True).count() == 3


def test_a_429_costs_no_attempt_and_pauses_pushing_to_the_end_of_the_quota_window(
    settings: Any,
) -> None:
    half_past = datetime(2026, 1, 5, 9, 0, 30, tzinfo=UTC)
    with (
        FakeFCMServer(quota_per_minute=3) as fcm,
        time_machine.travel(half_past, tick=False) as clock,
    ):
        use_fcm(settings, fcm.url)
        settings.FCM_MAX_CONCURRENCY = 1
        rows = []
        for i in range(5):
            patient = PatientUserFactory()
            DeviceFactory(user=patient, address=f"ok-{i}")
            rows.append(notify(patient, key=f"n{i}", now=half_past))

        first = dispatch_due()

        # Three accepted, one 429, and the rest of the batch not spent on more 429s.
        assert fcm.requests == 4
        assert (first.pushes, first.sent, first.retried, first.failed) == (3, 3, 0, 0)
        window_end = datetime(2026, 1, 5, 9, 1, 0, tzinfo=UTC)
        waiting = Notification.objects.filter(state=NotificationState.PENDING)
        assert waiting.count() == 2
        for row in waiting:
            assert (row.attempts, row.due_at) == (0, window_end)

        # Something due during the pause waits for its end without a request.
        clock.shift(timedelta(seconds=10))
        late = PatientUserFactory()
        DeviceFactory(user=late, address="ok-late")
        late_row = notify(late, key="late", now=timezone.now(), urgent=True)
        assert dispatch_due().claimed == 1
        assert fcm.requests == 4
        late_row.refresh_from_db()
        assert (late_row.state, late_row.attempts, late_row.due_at) == ("pending", 0, window_end)

        clock.shift(timedelta(seconds=21))
        second = dispatch_due()

    assert (second.claimed, second.sent) == (3, 3)
    assert sorted(fcm.targets()) == sorted([f"ok-{i}" for i in range(5)] + ["ok-late"])
    assert set(Notification.objects.values_list("state", "attempts")) == {("sent", 1)}


def test_a_single_503_is_recovered_within_the_same_dispatch(fcm: FakeFCMServer) -> None:
    patient = PatientUserFactory()
    DeviceFactory(user=patient, address="flaky-1")
    notify(patient, key="n1")

    report = dispatch_due()

    assert (report.sent, report.pushes, report.retried) == (1, 1, 0)
    assert fcm.targets() == ["flaky-1"]


def test_ttl_follows_expires_at(fcm: FakeFCMServer) -> None:
    now = timezone.now().replace(microsecond=0)
    patient = PatientUserFactory()
    DeviceFactory(user=patient, address="ok-1")
    row = notify(patient, key="n1", now=now, expires_at=now + timedelta(hours=2), urgent=True)

    with time_machine.travel(now, tick=False):
        dispatch_due()

    [message] = fcm.received
    assert (message["android"]["ttl"], message["android"]["priority"]) == ("7200s", "high")
    # A repeat of this row (push is at least once) replaces it on the phone.
    assert message["android"]["collapse_key"] == str(row.id)
    assert message["apns"]["headers"]["apns-collapse-id"] == str(row.id)
    assert message["apns"]["headers"]["apns-expiration"] == str(int(now.timestamp()) + 7200)


def test_an_unreachable_fcm_keeps_rows_and_devices(settings: Any) -> None:
    with FakeFCMServer() as fcm:
        url = fcm.url
    use_fcm(settings, url)  # the server is gone: nothing listens on that port any more
    patient = PatientUserFactory()
    device = DeviceFactory(user=patient, address="ok-1")
    notification = notify(patient, key="n1")

    report = dispatch_due()

    assert (report.retried, report.pushes, report.dead_devices) == (1, 0, 0)
    notification.refresh_from_db()
    device.refresh_from_db()
    assert notification.state == NotificationState.PENDING
    assert device.is_active
