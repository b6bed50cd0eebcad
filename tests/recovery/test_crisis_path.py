"""The crisis path end to end: a check-in answering "yes" to thoughts of self-harm."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from backend.asgi import application
from tests.conftest import client_for
from tests.factories import CounselorFactory, EnrollmentFactory, SupervisorFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _socket(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, "/ws/events/", subprotocols=["bearer", str(AccessToken.for_user(user))]
    )
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=2))["type"] == "ready"
    return communicator


def _setup():
    counselor = CounselorFactory()
    supervisor = SupervisorFactory(program=counselor.program)
    enrollment = EnrollmentFactory(program=counselor.program, primary_counselor=counselor)
    return enrollment, counselor, supervisor


def _post_checkin(enrollment):
    return client_for(enrollment.patient).post(
        "/api/v1/checkins/",
        {
            "id": str(uuid.uuid4()),
            "mood": 1,
            "craving": 6,
            "used_substance": False,
            "self_harm_thoughts": True,
            "device_time": timezone.now().isoformat(),
            "device_timezone": enrollment.timezone,
        },
        format="json",
    )


async def test_crisis_reaches_patient_care_team_and_supervisor_at_once():
    enrollment, counselor, supervisor = await database_sync_to_async(_setup)()
    patient_socket = await _socket(enrollment.patient)
    counselor_socket = await _socket(counselor)
    supervisor_socket = await _socket(supervisor)

    response = await database_sync_to_async(_post_checkin)(enrollment)

    assert response.status_code == 201
    assert any(r["phone"] == "988" for r in response.json()["crisis_resources"])

    to_patient = await patient_socket.receive_json_from(timeout=3)
    assert to_patient["kind"] == "crisis_resources"
    assert any(r["phone"] == "988" for r in to_patient["payload"]["crisis_resources"])

    to_counselor = await counselor_socket.receive_json_from(timeout=3)
    assert (to_counselor["kind"], to_counselor["payload"]["kind"]) == ("flag_raised", "self_harm")
    assert to_counselor["urgent"] is True

    # One event shape for every role, once: the supervisor's alert is a notification like
    # the counselor's (so it is replayed after a reconnect), not a second "flag" event.
    to_supervisor = await supervisor_socket.receive_json_from(timeout=3)
    assert (to_supervisor["type"], to_supervisor["kind"]) == ("notification", "flag_raised")
    assert to_supervisor["payload"]["flag_id"] == to_counselor["payload"]["flag_id"]
    assert await supervisor_socket.receive_nothing(timeout=0.5)

    for socket in (patient_socket, counselor_socket, supervisor_socket):
        await socket.disconnect()
