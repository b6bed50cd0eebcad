"""The app confirms a notification reached the device; the app is heard from cheaply."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.dispatch import dispatch_due
from notifications.models import AppPresence, Notification, NotificationState
from notifications.services import notify
from tests.conftest import client_for
from tests.factories import DeviceFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db


def _delivered(user, key: str = "reminder") -> Notification:
    DeviceFactory(user=user)
    notify(
        recipients=[user.id],
        kind="session_reminder",
        key=key,
        payload={},
        due_at=timezone.now(),
    )
    dispatch_due()
    return Notification.objects.get(recipient=user, dedupe_key=f"{key}:{user.id}")


def _url(notification_id: int) -> str:
    return f"/api/v1/notifications/{notification_id}/received/"


def test_the_app_confirms_a_push_reached_the_device() -> None:
    patient = EnrollmentFactory().patient
    notification = _delivered(patient)
    assert notification.state == NotificationState.SENT
    assert notification.received_at is None

    response = client_for(patient).post(_url(notification.id))

    assert response.status_code == 204, response.content
    notification.refresh_from_db()
    assert notification.push_received_at is not None
    assert notification.received_at == notification.push_received_at
    # A push receipt is not a websocket ack: the socket still replays it on connect.
    assert notification.acked_at is None

    first = notification.received_at
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        again = client_for(patient).post(_url(notification.id), {"channel": "push"}, format="json")
    assert again.status_code == 204
    notification.refresh_from_db()
    assert notification.received_at == first  # the first receipt counts


def test_a_receipt_by_websocket_is_an_ack() -> None:
    patient = EnrollmentFactory().patient
    notification = _delivered(patient)

    response = client_for(patient).post(
        _url(notification.id), {"channel": "websocket"}, format="json"
    )

    assert response.status_code == 204
    notification.refresh_from_db()
    assert notification.acked_at is not None
    assert notification.received_at == notification.acked_at
    assert notification.push_received_at is None


def test_someone_elses_notification_answers_404_like_an_unknown_one() -> None:
    mine, theirs = EnrollmentFactory().patient, EnrollmentFactory().patient
    their_notification = _delivered(theirs)
    client = client_for(mine)

    other = client.post(_url(their_notification.id))
    unknown = client.post(_url(their_notification.id + 1000))

    assert other.status_code == unknown.status_code == 404
    assert other.json() == unknown.json()
    their_notification.refresh_from_db()
    assert their_notification.received_at is None


def test_a_push_confirmed_before_the_dispatcher_wrote_it_sent_still_counts() -> None:
    patient = EnrollmentFactory().patient
    notification = _delivered(patient)
    # FCM can deliver before the dispatcher's bulk write of the batch's outcome.
    Notification.objects.filter(id=notification.id).update(state=NotificationState.SENDING)

    assert client_for(patient).post(_url(notification.id)).status_code == 204
    notification.refresh_from_db()
    assert notification.push_received_at is not None


def test_an_unknown_channel_is_a_field_error() -> None:
    patient = EnrollmentFactory().patient
    notification = _delivered(patient)

    response = client_for(patient).post(_url(notification.id), {"channel": "sms"}, format="json")

    assert response.status_code == 400
    assert "channel" in response.json()["error"]["fields"]


def test_the_app_is_heard_from_at_most_once_per_window(settings) -> None:
    settings.APP_HEARD_RESOLUTION_SECONDS = 300
    patient = EnrollmentFactory().patient
    client = client_for(patient)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        assert client.get("/api/v1/notifications/").status_code == 200
    assert AppPresence.objects.get(user=patient).last_heard_at == start

    with (
        time_machine.travel(start + timedelta(minutes=2), tick=False),
        CaptureQueriesContext(connection) as captured,
    ):
        assert client.get("/api/v1/notifications/unread-count/").status_code == 200
    assert not any("notifications_apppresence" in q["sql"] for q in captured.captured_queries)
    assert AppPresence.objects.get(user=patient).last_heard_at == start

    later = start + timedelta(minutes=6)
    with time_machine.travel(later, tick=False):
        assert client.get("/api/v1/notifications/").status_code == 200
    assert AppPresence.objects.get(user=patient).last_heard_at == later


def test_a_browser_session_is_not_the_app() -> None:
    enrollment = EnrollmentFactory()
    browser = Client()
    browser.force_login(enrollment.primary_counselor)
    browser.get("/dashboard/")
    assert not AppPresence.objects.filter(user=enrollment.primary_counselor).exists()
