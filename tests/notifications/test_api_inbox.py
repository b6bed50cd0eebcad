"""Syncing the inbox: `updated_since` returns what went out or was read since, page
numbers beside the links, and `synced_at` to pass next time."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from notifications.dispatch import dispatch_due
from notifications.services import notify
from tests.conftest import client_for
from tests.factories import PatientUserFactory

pytestmark = pytest.mark.django_db


def _send(user_id: int, key: str) -> None:
    notify(
        recipients=[user_id],
        kind="checkin_nudge",
        key=key,
        payload={},
        title="Check in",
        body="How are you?",
        due_at=timezone.now(),
    )
    dispatch_due()


def test_updated_since_returns_what_went_out_or_was_read_since() -> None:
    start = timezone.now() - timedelta(hours=3)
    with time_machine.travel(start, tick=False):
        patient = PatientUserFactory()
        _send(patient.id, "old")
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        _send(patient.id, "new-1")
        _send(patient.id, "new-2")
        first = client_for(patient).get("/api/v1/notifications/", {"page_size": 1}).json()
    assert first["count"] == 3
    assert first["next_page"] == 2
    assert first["previous_page"] is None
    assert first["next"].endswith("page=2&page_size=1") or "page=2" in first["next"]
    client = client_for(patient)
    old_id = client.get("/api/v1/notifications/", {"page": 3, "page_size": 1}).json()["results"][0][
        "id"
    ]

    since = (start + timedelta(minutes=30)).isoformat()
    with time_machine.travel(start + timedelta(hours=1, minutes=30), tick=False):
        changed = client_for(patient).get("/api/v1/notifications/", {"updated_since": since}).json()
    assert changed["count"] == 2
    assert old_id not in [n["id"] for n in changed["results"]]
    synced_at = changed["synced_at"]

    with time_machine.travel(start + timedelta(hours=2), tick=False):
        assert client_for(patient).post(f"/api/v1/notifications/{old_id}/read/").status_code == 200
    again = client.get("/api/v1/notifications/", {"updated_since": synced_at}).json()
    assert [n["id"] for n in again["results"]] == [old_id]  # read since the last sync


def test_a_bad_updated_since_is_a_field_error() -> None:
    client = client_for(PatientUserFactory())
    response = client.get("/api/v1/notifications/", {"updated_since": "yesterday"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"updated_since"}
