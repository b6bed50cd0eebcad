"""Registering a push address: an address moves to whoever registers it last."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.dispatch import dispatch_due
from notifications.models import Device
from notifications.push import memory
from notifications.services import notify
from tests.conftest import client_for
from tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/devices/"


def test_an_address_another_patient_registered_moves_to_the_new_patient():
    first, second = EnrollmentFactory().patient, EnrollmentFactory().patient
    body = {"address": "fcm-shared-phone", "platform": "android", "app_version": "1.0"}
    mine = client_for(first).post(URL, body, format="json")
    assert mine.status_code == 200

    theirs = client_for(second).post(URL, {**body, "app_version": "1.1"}, format="json")

    assert theirs.status_code == 200, theirs.json()
    assert theirs.json().keys() == mine.json().keys()
    assert theirs.json()["id"] == mine.json()["id"]
    assert theirs.json()["is_active"] is True
    device = Device.objects.get(address="fcm-shared-phone")
    assert (device.user_id, device.app_version) == (second.id, "1.1")

    notify(
        recipients=[first.id],
        kind="checkin_nudge",
        key="nudge-first",
        payload={},
        title="t",
        body="b",
        due_at=timezone.now() - timedelta(seconds=1),
    )
    dispatch_due()
    assert [m.device_id for m in memory.outbox] == []  # the previous owner's pushes stop


def test_a_dead_address_registered_again_is_live_again():
    patient = EnrollmentFactory().patient
    body = {"address": "fcm-revived", "platform": "ios"}
    client_for(patient).post(URL, body, format="json")
    Device.objects.update(is_active=False, deactivated_reason="unregistered")

    again = client_for(patient).post(URL, body, format="json")

    assert again.status_code == 200
    assert again.json()["is_active"] is True
    assert Device.objects.get().deactivated_reason == ""


def test_preferences_name_every_problem_in_one_answer():
    patient = EnrollmentFactory().patient
    response = client_for(patient).put(
        "/api/v1/notifications/preferences/",
        {"timezone": "Mars/Olympus", "quiet_start": "22:00", "muted_kinds": ["nope"]},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"timezone", "quiet_end", "muted_kinds.0"}
