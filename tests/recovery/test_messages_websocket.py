"""Messages with the care team arrive live over the real websocket, for the patient, the
counselor and the supervisor; read receipts too. What arrives names ids, never text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from backend.asgi import application
from notifications.dispatch import dispatch_due
from notifications.models import Notification
from tests.conftest import client_for
from tests.factories import CounselorFactory, EnrollmentFactory, SupervisorFactory
from tests.notifications.test_protocol import _check

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

OFFICE_OPEN = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # Wednesday 10:00 in New York


@pytest.fixture(autouse=True)
def _office_open():
    with time_machine.travel(OFFICE_OPEN, tick=True):
        yield


async def _connect(user) -> WebsocketCommunicator:
    token = str(AccessToken.for_user(user))
    communicator = WebsocketCommunicator(application, "/ws/events/", subprotocols=["bearer", token])
    connected, _ = await communicator.connect()
    assert connected
    ready = await communicator.receive_json_from(timeout=2)
    assert ready["type"] == "ready"
    return communicator


def _people():
    enrollment = EnrollmentFactory()
    supervisor = SupervisorFactory(program=enrollment.program)
    return enrollment, enrollment.primary_counselor, supervisor


def _post(user, path: str, data: dict):
    response = client_for(user).post(path, data, format="json")
    assert response.status_code in (200, 201), response.content
    dispatch_due()
    return response.data


async def test_a_message_reaches_the_team_live_and_the_answer_reaches_the_patient():
    enrollment, counselor, supervisor = await database_sync_to_async(_people)()
    off_team = await database_sync_to_async(CounselorFactory)(program=enrollment.program)
    sockets = {
        who: await _connect(user)
        for who, user in [
            ("patient", enrollment.patient),
            ("counselor", counselor),
            ("supervisor", supervisor),
            ("off_team", off_team),
        ]
    }

    sent = await database_sync_to_async(_post)(
        enrollment.patient, "/api/v1/me/conversation/messages/", {"body": "I need to talk"}
    )
    message_id = sent["message"]["id"]
    for who in ("counselor", "supervisor"):
        event = await sockets[who].receive_json_from(timeout=2)
        _check(event)
        assert event["kind"] == "care_message"
        assert event["payload"] == {"enrollment_id": enrollment.id, "message_id": message_id}
        assert "talk" not in event["title"] + event["body"]
    assert await sockets["patient"].receive_nothing(timeout=0.2)
    assert await sockets["off_team"].receive_nothing(timeout=0.2)

    reply = await database_sync_to_async(_post)(
        counselor,
        f"/api/v1/patients/{enrollment.id}/conversation/messages/",
        {"body": "Calling you in 5"},
    )
    event = await sockets["patient"].receive_json_from(timeout=2)
    assert (event["kind"], event["payload"]["message_id"]) == (
        "care_message",
        reply["message"]["id"],
    )
    supervisor_sees = await sockets["supervisor"].receive_json_from(timeout=2)
    assert supervisor_sees["payload"]["message_id"] == reply["message"]["id"]
    assert await sockets["counselor"].receive_nothing(timeout=0.2)  # their own

    await database_sync_to_async(_post)(
        enrollment.patient, "/api/v1/me/conversation/read/", {"up_to": reply["message"]["id"]}
    )
    for who in ("counselor", "supervisor"):
        receipt = await sockets[who].receive_json_from(timeout=2)
        _check(receipt)
        assert receipt["kind"] == "messages_read"
        assert receipt["payload"] == {
            "enrollment_id": enrollment.id,
            "reader_id": enrollment.patient.id,
            "last_read_id": reply["message"]["id"],
        }
    # Connected or not, a read receipt is never a push; the messages are.
    pushes = await database_sync_to_async(
        lambda: dict(Notification.objects.values_list("kind", "push").distinct())
    )()
    assert pushes == {"care_message": True, "messages_read": False}
    for socket in sockets.values():
        await socket.disconnect()
