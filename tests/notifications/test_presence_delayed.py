"""The heard-from notes of a process are written together after a short delay: one
statement for many users, none in the request that was heard."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications import presence
from notifications.models import AppPresence
from notifications.presence import presence_flush
from tests.conftest import client_for
from tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _delayed(settings) -> Iterator[None]:
    settings.APP_HEARD_WRITE_DELAY_SECONDS = 60
    yield
    presence_flush()


def test_requests_note_the_app_and_one_statement_writes_every_note():
    patients = [EnrollmentFactory().patient for _ in range(3)]
    with CaptureQueriesContext(connection) as during:
        for patient in patients:
            assert client_for(patient).get("/api/v1/notifications/").status_code == 200
    assert not any("notifications_apppresence" in q["sql"] for q in during.captured_queries)
    assert not AppPresence.objects.exists()
    assert presence._timer is not None  # the write is on its way

    with CaptureQueriesContext(connection) as flushing:
        assert presence_flush() == 3

    writes = [q for q in flushing.captured_queries if "notifications_apppresence" in q["sql"]]
    assert len(writes) == 1
    assert set(AppPresence.objects.values_list("user_id", flat=True)) == {p.id for p in patients}
    assert presence._timer is None
    assert presence_flush() == 0  # nothing waits twice
