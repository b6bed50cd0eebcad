"""The websocket endpoint when the network misbehaves: closes that race a gone client."""

from __future__ import annotations

import asyncio
import gc
import time
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken
from uvicorn.protocols.utils import ClientDisconnected

from backend.asgi import application
from notifications.realtime import user_group
from tests.factories import PatientUserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


class GoneClient:
    """What uvicorn does once the client's connection is gone: every send raises
    ClientDisconnected, whether or not the application has read a websocket.disconnect."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.gone = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def send_unless_gone(message: Any) -> None:
            if self.gone:
                raise ClientDisconnected
            await send(message)

        await self.app(scope, receive, send_unless_gone)


async def _ready_socket(lifetime: timedelta) -> tuple[WebsocketCommunicator, GoneClient, int]:
    patient = await database_sync_to_async(PatientUserFactory)()
    token = AccessToken.for_user(patient)
    token.set_exp(lifetime=lifetime)
    wrapped = GoneClient(application)
    communicator = WebsocketCommunicator(
        wrapped, "/ws/events/", subprotocols=["bearer", str(token)]
    )
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=2))["type"] == "ready"
    return communicator, wrapped, patient.id


def _unretrieved_task_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    gc.collect()  # a task's unretrieved exception is reported when the task is collected
    return [r.getMessage() for r in caplog.records if "never retrieved" in r.getMessage()]


async def test_a_socket_that_died_on_a_send_leaves_no_timer_to_fail_later(caplog):
    communicator, wrapped, user_id = await _ready_socket(timedelta(seconds=1))

    # An event for a phone that just went away: uvicorn's send raises inside the consumer,
    # which ends without a websocket.disconnect ever being read. Its expiry timer must not
    # outlive it and fail on the dead connection a moment later.
    wrapped.gone = True
    await get_channel_layer().group_send(
        user_group(user_id), {"type": "push.event", "event": {"type": "notification", "id": 1}}
    )
    await asyncio.wait({communicator.future}, timeout=2)
    assert isinstance(communicator.future.exception(), ClientDisconnected)
    del communicator  # with the consumer's frames, held by the exception's traceback
    await asyncio.sleep(1.5)

    assert _unretrieved_task_errors(caplog) == []


async def test_an_event_reaches_its_socket_while_the_database_thread_is_busy():
    """In a burst the server's one database thread is busy with other sockets' work (acks,
    connects): an event on its way to a socket needs no database and must not wait for it."""
    communicator, _, user_id = await _ready_socket(timedelta(minutes=5))
    await communicator.send_json_to({"type": "ping"})  # the connect's replay is done
    assert (await communicator.receive_json_from(timeout=2))["type"] == "pong"
    busy = asyncio.ensure_future(database_sync_to_async(time.sleep)(3))
    await asyncio.sleep(0.1)  # the database thread is now taken

    await get_channel_layer().group_send(
        user_group(user_id), {"type": "push.event", "event": {"type": "notification", "id": 1}}
    )

    assert (await communicator.receive_json_from(timeout=1))["id"] == 1
    await busy
    await communicator.disconnect()
