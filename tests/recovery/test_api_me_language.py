"""The patient's language as a profile setting: set through `me`, then followed by the
API's answers and by the generic push texts, without costing a query per request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.dispatch import dispatch_due
from notifications.push import memory
from notifications.services import notify
from tests.conftest import client_for
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db


def test_a_patient_sets_their_language_and_the_api_answers_in_it(enrollment):
    client = client_for(enrollment.patient)
    assert client.get("/api/v1/me/").json()["language"] == "en"
    response = client.patch("/api/v1/me/", {"language": "es"}, format="json")
    assert response.status_code == 200
    assert response.json()["language"] == "es"
    enrollment.refresh_from_db()
    assert enrollment.language == "es"
    plan = client.get("/api/v1/me/safety-plan/", HTTP_ACCEPT_LANGUAGE="en")
    assert plan.json()["sections"][0]["title"] == "Señales de alerta"


def test_the_profile_language_costs_no_query(enrollment):
    client = client_for(enrollment.patient)
    client.get("/api/v1/me/")  # whatever a first request warms up
    with CaptureQueriesContext(connection) as english:
        client.get("/api/v1/me/")
    enrollment.language = "es"
    enrollment.save()
    with CaptureQueriesContext(connection) as spanish:
        assert client.get("/api/v1/me/")["Content-Language"] == "es"
    assert len(spanish) == len(english)


def test_an_unknown_language_is_a_field_error_and_changes_nothing(enrollment):
    client = client_for(enrollment.patient)
    response = client.patch("/api/v1/me/", {"language": "fr"}, format="json")
    assert response.status_code == 400
    assert "language" in response.json()["error"]["fields"]
    enrollment.refresh_from_db()
    assert enrollment.language == "en"


def test_staff_have_no_language_setting_here(counselor):
    response = client_for(counselor).patch("/api/v1/me/", {"language": "es"}, format="json")
    assert response.status_code == 403


def test_a_spanish_patients_push_carries_the_spanish_text(enrollment):
    DeviceFactory(user=enrollment.patient)
    other = DeviceFactory()
    client_for(enrollment.patient).patch("/api/v1/me/", {"language": "es"}, format="json")
    for user_id in (enrollment.patient_id, other.user_id):
        notify(
            recipients=[user_id],
            kind="care_message",
            key=f"m{user_id}",
            title="t",
            body="b",
            payload={},
        )
    dispatch_due()
    texts = {m.device_id: (m.title, m.body) for m in memory.outbox}
    assert texts[other.id] == ("New message", "You have a new message. Open the app to read it.")
    spanish = next(t for d, t in texts.items() if d != other.id)
    assert spanish == ("Mensaje nuevo", "Tienes un mensaje nuevo. Abre la aplicación para leerlo.")
