"""The dispatcher counts what happened to each delivery: sends per channel and outcome,
FCM 429s, dead devices (real SDK, real HTTP to a fake FCM)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from prometheus_client import REGISTRY

from notifications.dispatch import dispatch_due
from tests.factories import DeviceFactory, PatientUserFactory
from tests.fakes.fcm_server import FakeFCMServer
from tests.notifications.test_dispatch_fcm import _close_fcm, fcm, notify, use_fcm

pytestmark = pytest.mark.django_db
__all__ = ["_close_fcm", "fcm"]  # fixtures, used by name


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_sends_and_dead_devices_are_counted(fcm: FakeFCMServer) -> None:
    patient = PatientUserFactory()
    DeviceFactory(user=patient, address="ok-1")
    DeviceFactory(user=patient, address="dead-1")
    notify(patient, key="n1")
    pushed = _value("iop_notification_sends_total", channel="push", outcome="sent")
    dead = _value("iop_notification_sends_total", channel="push", outcome="dead")
    announced = _value("iop_notification_sends_total", channel="websocket", outcome="sent")
    deactivated = _value("iop_devices_deactivated_total", reason="unregistered")

    dispatch_due()

    assert _value("iop_notification_sends_total", channel="push", outcome="sent") == pushed + 1
    assert _value("iop_notification_sends_total", channel="push", outcome="dead") == dead + 1
    assert (
        _value("iop_notification_sends_total", channel="websocket", outcome="sent") == announced + 1
    )
    assert _value("iop_devices_deactivated_total", reason="unregistered") == deactivated + 1


def test_a_429_is_counted_once_per_answer(settings: Any) -> None:
    half_past = datetime(2026, 1, 5, 9, 0, 30, tzinfo=UTC)
    with (
        FakeFCMServer(quota_per_minute=2) as server,
        time_machine.travel(half_past, tick=False),
    ):
        use_fcm(settings, server.url)
        settings.FCM_MAX_CONCURRENCY = 1
        for i in range(4):
            patient = PatientUserFactory()
            DeviceFactory(user=patient, address=f"ok-{i}")
            notify(patient, key=f"n{i}", now=half_past)
        throttled = _value("iop_fcm_throttled_total")
        held = _value("iop_notification_sends_total", channel="push", outcome="throttled")

        dispatch_due()

        # Two accepted, one 429 answer, the last not even sent (the pause it started).
        assert server.requests == 3
        assert _value("iop_fcm_throttled_total") == throttled + 1
        assert (
            _value("iop_notification_sends_total", channel="push", outcome="throttled") == held + 2
        )
