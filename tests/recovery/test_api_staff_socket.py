"""A counselor deactivated by their supervisor through the API: the socket they have open
closes at once, and their token opens no new one."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from backend.asgi import application
from tests.conftest import client_for
from tests.factories import CounselorFactory, SupervisorFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
PASSWORD = "correct-horse-battery-staple"


def _login(username: str) -> str:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return str(response.json()["access"])


def _deactivate(supervisor: Any, counselor: Any) -> int:
    response = client_for(supervisor).post(f"/api/v1/staff/{counselor.id}/deactivate/")
    return int(response.status_code)


async def _socket(token: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/events/", subprotocols=["bearer", token])
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=2))["type"] == "ready"
    return communicator


async def test_a_deactivated_counselors_open_socket_closes() -> None:
    supervisor = await database_sync_to_async(SupervisorFactory)()
    counselor = await database_sync_to_async(CounselorFactory)(program=supervisor.program)
    colleague = await database_sync_to_async(CounselorFactory)(program=supervisor.program)
    token = await database_sync_to_async(_login)(counselor.username)
    theirs = await _socket(token)
    others = await _socket(await database_sync_to_async(_login)(colleague.username))

    assert await database_sync_to_async(_deactivate)(supervisor, counselor) == 200
    assert (await theirs.receive_output(timeout=2))["code"] == 4403
    # A colleague's socket stays open.
    assert await others.receive_nothing(timeout=0.3)
    await others.disconnect()

    again = WebsocketCommunicator(application, "/ws/events/", subprotocols=["bearer", token])
    connected, _ = await again.connect()
    if connected:  # accepted only to be told why, then closed
        assert (await again.receive_output(timeout=2))["type"] == "websocket.close"
