"""Over the websocket: an ack records when the event reached the device, and any socket
activity counts as the app being heard from."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from backend.asgi import application
from notifications.dispatch import dispatch_due
from notifications.models import AppPresence, Notification
from notifications.services import notify
from tests.factories import PatientUserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _connected(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, "/ws/events/", subprotocols=["bearer", str(AccessToken.for_user(user))]
    )
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=2))["type"] == "ready"
    # Answered once the connect's replay is done: nothing sent later is replayed as well.
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=2))["type"] == "pong"
    return communicator


async def test_an_ack_records_when_the_event_reached_the_device():
    patient = await database_sync_to_async(PatientUserFactory)()
    communicator = await _connected(patient)
    await database_sync_to_async(notify)(
        recipients=[patient.id],
        kind="session_reminder",
        key="ws-receipt",
        payload={},
        due_at=timezone.now(),
    )
    await database_sync_to_async(dispatch_due)()
    event = await communicator.receive_json_from(timeout=2)
    assert event["type"] == "notification"

    await communicator.send_json_to({"type": "ack", "ids": [event["id"]]})
    await communicator.send_json_to({"type": "ping"})  # answered after the ack is written
    assert (await communicator.receive_json_from(timeout=2))["type"] == "pong"
    await communicator.disconnect()

    row = await database_sync_to_async(Notification.objects.get)(id=event["id"])
    assert row.acked_at is not None
    assert row.received_at == row.acked_at
    assert row.push_received_at is None


async def test_an_open_socket_is_the_app_heard_from():
    patient = await database_sync_to_async(PatientUserFactory)()
    communicator = await _connected(patient)
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=2))["type"] == "pong"
    await communicator.disconnect()

    presence = await database_sync_to_async(AppPresence.objects.get)(user_id=patient.id)
    assert presence.last_heard_at is not None


async def test_an_ack_of_an_id_past_64_bits_is_ignored():
    patient = await database_sync_to_async(PatientUserFactory)()
    communicator = await _connected(patient)
    await communicator.send_json_to({"type": "ack", "ids": [2**70, 2**63]})
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=2))["type"] == "pong"
    await communicator.disconnect()


async def test_a_notification_read_over_rest_is_not_replayed_on_the_socket():
    from tests.conftest import client_for

    patient = await database_sync_to_async(PatientUserFactory)()
    for key in ("read-on-the-phone", "still-unread"):
        await database_sync_to_async(notify)(
            recipients=[patient.id],
            kind="session_reminder",
            key=key,
            payload={},
            title="Reminder",
            body="Soon.",
            due_at=timezone.now(),
        )
    await database_sync_to_async(dispatch_due)()
    read, unread = await database_sync_to_async(
        lambda: list(Notification.objects.filter(recipient=patient).order_by("dedupe_key"))
    )()
    client = await database_sync_to_async(client_for)(patient)
    response = await database_sync_to_async(client.post)(f"/api/v1/notifications/{read.id}/read/")
    assert response.status_code == 200

    communicator = WebsocketCommunicator(
        application, "/ws/events/", subprotocols=["bearer", str(AccessToken.for_user(patient))]
    )
    assert (await communicator.connect())[0]
    assert (await communicator.receive_json_from(timeout=2))["type"] == "ready"
    replayed = await communicator.receive_json_from(timeout=2)
    assert replayed["id"] == unread.id  # the one read over REST counts as acknowledged
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()
