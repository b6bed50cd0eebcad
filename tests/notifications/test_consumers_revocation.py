"""A sign-in that ended cannot open a websocket, and its open sockets close."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from backend.asgi import application
from tests.factories import CounselorFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
PASSWORD = "correct-horse-battery-staple"


async def _connect(token: str, *, first_message: bool = False):
    protocols = None if first_message else ["bearer", token]
    communicator = WebsocketCommunicator(application, "/ws/events/", subprotocols=protocols)
    connected, _ = await communicator.connect()
    if connected and first_message:
        await communicator.send_json_to({"type": "auth", "token": token})
    return communicator, connected


async def _opens(token: str, *, first_message: bool = False) -> bool:
    communicator, connected = await _connect(token, first_message=first_message)
    if not connected:
        return False
    output = await communicator.receive_output(timeout=2)
    await communicator.disconnect()
    return output.get("type") == "websocket.send" and '"ready"' in output.get("text", "")


def _login(username: str) -> dict[str, str]:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return dict(response.json())


def _logout(tokens: dict[str, str]) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    response = client.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 204


def _refresh(raw: str) -> int:
    response = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": raw}, format="json")
    return int(response.status_code)


@pytest.mark.parametrize("first_message", [False, True])
async def test_a_logged_out_token_cannot_open_a_socket(first_message):
    counselor = await database_sync_to_async(CounselorFactory)()
    tokens = await database_sync_to_async(_login)(counselor.username)
    assert await _opens(tokens["access"], first_message=first_message)
    await database_sync_to_async(_logout)(tokens)
    assert not await _opens(tokens["access"], first_message=first_message)


async def test_a_burnt_family_cannot_open_a_socket():
    counselor = await database_sync_to_async(CounselorFactory)()
    tokens = await database_sync_to_async(_login)(counselor.username)
    assert await database_sync_to_async(_refresh)(tokens["refresh"]) == 200
    assert await database_sync_to_async(_refresh)(tokens["refresh"]) == 401  # reuse
    assert not await _opens(tokens["access"])


async def test_deactivation_closes_the_open_socket_and_refuses_new_ones():
    counselor = await database_sync_to_async(CounselorFactory)()
    tokens = await database_sync_to_async(_login)(counselor.username)
    communicator, connected = await _connect(tokens["access"])
    assert connected
    assert (await communicator.receive_json_from(timeout=2))["type"] == "ready"

    counselor.is_active = False
    await database_sync_to_async(counselor.save)()
    assert (await communicator.receive_output(timeout=2))["code"] == 4403
    counselor.is_active = True
    await database_sync_to_async(counselor.save)()
    assert not await _opens(tokens["access"])
