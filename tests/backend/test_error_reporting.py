"""Sentry gets the error, never the patient: checked on what the SDK would really send."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from django.test import Client
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from backend.error_reporting import init_error_reporting

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.backend.sentry_urls")]

NOTE = "I used again behind the pharmacy on Elm Road"


class RecordingTransport(Transport):
    """Keeps every envelope instead of sending it."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)


@pytest.fixture
def sent() -> Iterator[list[dict[str, Any]]]:
    transport = RecordingTransport()
    init_error_reporting(
        dsn="https://public@errors.invalid/1", environment="test", transport=transport
    )
    events: list[dict[str, Any]] = []
    yield events
    sentry_sdk.flush()
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: reporting off again


def _events(transport_events: list[Envelope]) -> list[dict[str, Any]]:
    return [
        item.payload.json
        for envelope in transport_events
        for item in envelope.items
        if item.type == "event" and item.payload.json is not None
    ]


def test_an_error_reaches_sentry_without_body_user_cookies_or_path(sent, enrollment):
    patient = enrollment.patient
    patient.first_name, patient.email = "Philomena", "philomena@example.org"
    patient.save()
    client = Client(raise_request_exception=False, HTTP_X_REQUEST_ID="req-abcdef12")
    client.force_login(patient)
    client.cookies["sessionid_extra"] = "cookie-value-secret"
    response = client.post(
        f"/api/v1/patients/{enrollment.id}/fail/?name=Philomena",
        data=json.dumps({"note": NOTE}),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer header-token-secret",
    )
    assert response.status_code == 500
    sentry_sdk.flush()
    transport = sentry_sdk.get_client().transport
    assert isinstance(transport, RecordingTransport)
    events = _events(transport.envelopes)
    assert len(events) == 1
    event = events[0]
    assert event["exception"]["values"][0]["type"] == "RuntimeError"
    assert event["tags"]["request_id"] == "req-abcdef12"
    assert "user" not in event
    assert set(event.get("request", {})) <= {"method"}
    text = json.dumps(event)
    for secret in (
        NOTE,
        "Elm Road",
        "Philomena",
        "philomena@",
        "cookie-value-secret",
        "header-token-secret",
        f"/patients/{enrollment.id}/",
    ):
        assert secret not in text, secret


def test_scrub_drops_whatever_an_integration_attached():
    event = {
        "user": {"id": 7, "email": "a@b.c", "username": "someone"},
        "request": {
            "method": "POST",
            "url": "https://x/api/v1/patients/7/",
            "data": {"note": NOTE},
            "cookies": {"sessionid": "s"},
            "headers": {"Authorization": "Bearer t"},
            "query_string": "name=someone",
            "env": {"REMOTE_ADDR": "10.0.0.1"},
        },
        "extra": {"note": NOTE},
        "exception": {
            "values": [{"stacktrace": {"frames": [{"function": "f", "vars": {"note": NOTE}}]}}]
        },
        "breadcrumbs": {
            "values": [
                {"category": "query", "message": NOTE},
                {"category": "httplib", "data": {"url": "https://x/?q=" + NOTE}},
            ]
        },
    }
    from backend.error_reporting import scrub

    scrubbed = scrub(event, {})
    assert "user" not in scrubbed
    assert scrubbed["request"] == {"method": "POST"}
    assert NOTE not in json.dumps(scrubbed)
    assert scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]["function"] == "f"


def test_scrub_drops_django_request_lines_which_name_paths() -> None:
    from backend.error_reporting import scrub

    event = {
        "logger": "django.request",
        "logentry": {"message": "Not Found: /api/v1/patients/45/safety-plan/"},
        "breadcrumbs": {
            "values": [
                {"category": "django.request", "message": "Not Found: /api/v1/patients/45/"},
                {"category": "recovery", "message": "sweep ran"},
            ]
        },
    }
    scrubbed = scrub(event)
    assert "logentry" not in scrubbed
    assert "45" not in json.dumps(scrubbed)
    assert scrubbed["breadcrumbs"]["values"][1]["message"] == "sweep ran"
