"""A cache that cannot answer (Redis down) costs a log line, never a 500: the request
still succeeds, only what the cache adds (a throttle, the heard-from note) is skipped."""

from __future__ import annotations

import uuid
from typing import Any
from unittest import mock

import pytest
import redis
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from notifications.models import AppPresence
from tests.conftest import client_for
from tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db

DOWN = redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1. Connection refused.")


def _cache_down() -> Any:
    return mock.patch.multiple(
        cache, get=mock.Mock(side_effect=DOWN), add=mock.Mock(side_effect=DOWN)
    )


def test_a_check_in_is_stored_while_the_cache_is_down():
    enrollment = EnrollmentFactory()
    client = client_for(enrollment.patient)
    body = {
        "id": str(uuid.uuid4()),
        "mood": 3,
        "craving": 2,
        "used_substance": False,
        "device_time": timezone.now().isoformat(),
        "device_timezone": enrollment.timezone,
    }
    # The patient's revocation check fails open by design; the heard-from note must too.
    with _cache_down():
        response = client.post("/api/v1/checkins/", body, format="json")
    assert response.status_code == 201, response.content
    assert not AppPresence.objects.exists()


def test_sign_in_answers_while_the_throttle_cache_is_down():
    rates = {"login": "5/min", "enrollment_code": "5/min"}
    with mock.patch.object(ScopedRateThrottle, "THROTTLE_RATES", rates), _cache_down():
        response = APIClient().post(
            "/api/v1/auth/token/", {"username": "nobody", "password": "wrong"}, format="json"
        )
    assert response.status_code == 401, response.content
