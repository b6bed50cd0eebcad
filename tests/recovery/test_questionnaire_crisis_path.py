"""The crisis rule of a questionnaire end to end, through a real websocket: PHQ-9 item 9
answered above "Not at all" reaches the patient (988), the care team and the supervisor
at once, as a self-harm check-in does."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from tests.conftest import client_for
from tests.recovery.test_crisis_path import _setup, _socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _post_phq9(enrollment):  # type: ignore[no-untyped-def]
    answers = {str(i): "1" for i in range(1, 10)}
    answers["9"] = "2"
    return client_for(enrollment.patient).post(
        "/api/v1/questionnaire-responses/",
        {
            "id": str(uuid.uuid4()),
            "instrument": "phq9",
            "answers": answers,
            "device_time": timezone.now().isoformat(),
            "device_timezone": enrollment.timezone,
        },
        format="json",
    )


async def test_phq9_item_9_reaches_patient_care_team_and_supervisor_at_once():  # type: ignore[no-untyped-def]
    enrollment, counselor, supervisor = await database_sync_to_async(_setup)()
    patient_socket = await _socket(enrollment.patient)
    counselor_socket = await _socket(counselor)
    supervisor_socket = await _socket(supervisor)

    response = await database_sync_to_async(_post_phq9)(enrollment)

    assert response.status_code == 201
    assert response.json()["total"] == 10
    assert any(r["phone"] == "988" for r in response.json()["crisis_resources"])

    # The patient also gets the screener that follows a risk answer; in either order.
    to_patient = [await patient_socket.receive_json_from(timeout=3) for _ in range(2)]
    assert {m["kind"] for m in to_patient} == {"crisis_resources", "questionnaire_due"}
    to_counselor = await counselor_socket.receive_json_from(timeout=3)
    assert (to_counselor["kind"], to_counselor["payload"]["kind"]) == ("flag_raised", "self_harm")
    assert to_counselor["urgent"] is True
    to_supervisor = await supervisor_socket.receive_json_from(timeout=3)
    assert (to_supervisor["kind"], to_supervisor["payload"]["flag_id"]) == (
        "flag_raised",
        to_counselor["payload"]["flag_id"],
    )

    for socket in (patient_socket, counselor_socket, supervisor_socket):
        await socket.disconnect()
