"""The websocket endpoint: who may connect, what they receive, and catching up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from backend.asgi import application
from notifications.dispatch import dispatch_due
from notifications.realtime import close_user_sockets
from notifications.services import notify
from tests.factories import CounselorFactory, PatientUserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _token(user, lifetime: timedelta | None = None) -> str:
    token = AccessToken.for_user(user)
    if lifetime is not None:
        token.set_exp(lifetime=lifetime)
    return str(token)


async def _connect(token: str | None, *, origin: bytes | None = None, first_message: bool = False):
    headers = [(b"origin", origin)] if origin else []
    protocols = ["bearer", token] if token and not first_message else None
    communicator = WebsocketCommunicator(
        application, "/ws/events/", headers=headers, subprotocols=protocols
    )
    connected, _ = await communicator.connect()
    if connected and first_message and token:
        await communicator.send_json_to({"type": "auth", "token": token})
    return communicator, connected


async def _queue(user, key: str, **extra):
    await database_sync_to_async(notify)(
        recipients=[user.id],
        kind=extra.pop("kind", "session_reminder"),
        key=key,
        payload=extra.pop("payload", {}),
        title="Reminder: Process group",
        body="Starts in 1 hour.",
        due_at=timezone.now(),
        **extra,
    )
    await database_sync_to_async(dispatch_due)()


async def _ready(communicator) -> dict:
    message = await communicator.receive_json_from(timeout=2)
    assert message["type"] == "ready"
    return message


async def test_no_token_is_closed_after_the_auth_timeout(settings):
    settings.WEBSOCKET_AUTH_TIMEOUT_SECONDS = 0.2
    communicator, connected = await _connect(None)
    assert connected
    closed = await communicator.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": 4401}


@pytest.mark.parametrize("first_message", [False, True])
async def test_a_bad_token_is_refused_with_close_code_4401(first_message):
    # The same rule as a subprotocol or in an `auth` message: the handshake succeeds and
    # the socket closes with 4401 (asyncapi.yaml), never an HTTP 403 at the handshake.
    communicator, connected = await _connect("not-a-jwt", first_message=first_message)
    assert connected
    closed = await communicator.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": 4401}


@pytest.mark.parametrize("first_message", [False, True])
async def test_an_expired_token_is_refused_with_close_code_4401(first_message):
    user = await database_sync_to_async(PatientUserFactory)()
    token = _token(user, lifetime=timedelta(seconds=-1))
    communicator, connected = await _connect(token, first_message=first_message)
    assert connected
    closed = await communicator.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": 4401}


async def test_a_wrong_first_message_closes_the_socket():
    communicator, _ = await _connect(None)
    await communicator.send_json_to({"type": "subscribe", "group": "user.1"})
    assert (await communicator.receive_output(timeout=2))["code"] == 4401


async def test_a_reminder_reaches_the_connected_patient_and_no_one_else():
    patient = await database_sync_to_async(PatientUserFactory)()
    other = await database_sync_to_async(PatientUserFactory)()
    mine, _ = await _connect(_token(patient))
    theirs, _ = await _connect(_token(other), first_message=True)
    await _ready(mine)
    await _ready(theirs)
    await _queue(patient, "r1", payload={"session_id": 7})
    event = await mine.receive_json_from(timeout=2)
    assert event["type"] == "notification"
    assert event["kind"] == "session_reminder"
    assert event["payload"] == {"session_id": 7}
    assert await theirs.receive_nothing(timeout=0.2)
    await mine.disconnect()
    await theirs.disconnect()


async def test_a_reconnect_catches_up_from_the_inbox_until_acknowledged():
    patient = await database_sync_to_async(PatientUserFactory)()
    await _queue(patient, "missed-while-offline")  # nobody connected: dropped by the layer
    first, _ = await _connect(_token(patient))
    await _ready(first)
    replayed = await first.receive_json_from(timeout=2)
    assert replayed["type"] == "notification"
    await first.send_json_to({"type": "ack", "ids": [replayed["id"]]})
    await first.send_json_to({"type": "ping"})
    assert (await first.receive_json_from(timeout=2))["type"] == "pong"
    await first.disconnect()

    second, _ = await _connect(_token(patient))
    await _ready(second)
    assert await second.receive_nothing(timeout=0.2)
    await second.send_json_to({"type": "resume", "after": replayed["id"] - 1})
    again = await second.receive_json_from(timeout=2)
    assert again["id"] == replayed["id"]
    await second.disconnect()


async def test_a_counselor_receives_flags_raised_while_away():
    counselor = await database_sync_to_async(CounselorFactory)()
    await _queue(counselor, "flag-1", kind="flag_raised", urgent=True)
    communicator, _ = await _connect(_token(counselor))
    await _ready(communicator)
    assert (await communicator.receive_json_from(timeout=2))["kind"] == "flag_raised"
    await communicator.disconnect()


async def test_native_apps_without_origin_and_allowed_browsers_connect():
    patient = await database_sync_to_async(PatientUserFactory)()
    native, ok_native = await _connect(_token(patient))
    browser, ok_browser = await _connect(_token(patient), origin=b"http://localhost:8000")
    assert ok_native
    assert ok_browser
    await native.disconnect()
    await browser.disconnect()


async def test_a_browser_on_a_foreign_site_is_refused():
    patient = await database_sync_to_async(PatientUserFactory)()
    _, connected = await _connect(_token(patient), origin=b"https://evil.example")
    assert not connected


async def test_logout_closes_the_users_sockets():
    patient = await database_sync_to_async(PatientUserFactory)()
    communicator, _ = await _connect(_token(patient))
    await _ready(communicator)
    await database_sync_to_async(close_user_sockets)(patient.id)
    assert (await communicator.receive_output(timeout=2))["code"] == 4403


async def test_a_frame_over_64_kib_is_refused():
    patient = await database_sync_to_async(PatientUserFactory)()
    communicator, _ = await _connect(_token(patient))
    await _ready(communicator)
    await communicator.send_to(text_data="x" * (65 * 1024))
    assert (await communicator.receive_output(timeout=2))["code"] == 4413


async def test_a_flood_is_cut_off():
    patient = await database_sync_to_async(PatientUserFactory)()
    communicator, _ = await _connect(_token(patient))
    await _ready(communicator)
    for _ in range(60):
        await communicator.send_json_to({"type": "ping"})
    outputs = []
    while True:
        output = await communicator.receive_output(timeout=2)
        outputs.append(output)
        if output["type"] == "websocket.close":
            break
    assert outputs[-1]["code"] == 4429


async def test_the_socket_closes_when_the_token_expires():
    patient = await database_sync_to_async(PatientUserFactory)()
    # A token's expiry is in whole seconds, so a one-second token may have less than a
    # second left; three leave room for a busy machine to finish the handshake first.
    communicator, _ = await _connect(_token(patient, lifetime=timedelta(seconds=3)))
    await _ready(communicator)
    assert (await communicator.receive_output(timeout=8))["code"] == 4401


async def test_a_token_waiting_for_two_factor_setup_cannot_open_a_socket():
    counselor = await database_sync_to_async(CounselorFactory)()
    token = AccessToken.for_user(counselor)
    token["otp_pending"] = True
    communicator, connected = await _connect(str(token))
    assert connected
    assert (await communicator.receive_output(timeout=2))["code"] == 4401
