"""The websocket endpoint counts open connections, events written and events acknowledged."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from prometheus_client import REGISTRY

from tests.factories import PatientUserFactory
from tests.notifications.test_consumers import _connect, _queue, _ready, _token

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _value(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_connections_events_and_acks_are_counted():
    patient = await database_sync_to_async(PatientUserFactory)()
    open_before = _value("iop_websocket_connections_open")
    sent_before = _value("iop_websocket_events_sent_total")
    acked_before = _value("iop_websocket_events_acked_total")

    communicator, connected = await _connect(_token(patient))
    assert connected
    await _ready(communicator)
    assert _value("iop_websocket_connections_open") == open_before + 1

    await _queue(patient, "m1")
    event = await communicator.receive_json_from(timeout=2)
    assert event["type"] == "notification"
    assert _value("iop_websocket_events_sent_total") == sent_before + 1

    await communicator.send_json_to({"type": "ack", "ids": [event["id"]]})
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=2))["type"] == "pong"
    assert _value("iop_websocket_events_acked_total") == acked_before + 1

    await communicator.disconnect()
    assert _value("iop_websocket_connections_open") == open_before
