"""Syncing the patient's sessions: `updated_since` returns what was added, moved or
cancelled since (cancelled ones as cancelled, moved ones at their new time), with the
same `synced_at` and two-minute overlap as the other synced lists."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from backend.api import SYNC_OVERLAP
from recovery.models import Enrollment, TreatmentSession, User
from tests.conftest import client_for
from tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db
NY = zoneinfo.ZoneInfo("America/New_York")


def body(enrollment: Enrollment, *, days: int) -> dict[str, Any]:
    start = (timezone.now() + timedelta(days=days)).replace(microsecond=0)
    # Individual: the counselor of its patient may move and cancel it.
    return {
        "kind": "individual_therapy",
        "title": f"Session in {days} days",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "patients": [enrollment.id],
    }


@contextmanager
def at(instant: datetime) -> Iterator[None]:
    with time_machine.travel(instant, tick=False):
        yield


def sync(user: User, since: str | None = None, **params: Any) -> dict[str, Any]:
    query = {**params, **({"updated_since": since} if since else {})}
    response = client_for(user).get("/api/v1/sessions/", query)
    assert response.status_code == 200, response.content
    result: dict[str, Any] = response.json()
    return result


def test_a_sync_returns_the_cancelled_as_cancelled_and_the_moved_at_their_new_time(
    enrollment: Enrollment, counselor: User
) -> None:
    start = timezone.now()
    with at(start):
        staff = client_for(counselor)
        made = [
            staff.post("/api/v1/sessions/", body(enrollment, days=d), format="json").json()
            for d in (2, 3, 4)
        ]
    with at(start + timedelta(minutes=10)):
        first = sync(enrollment.patient)
    assert [s["id"] for s in first["results"]] == [s["id"] for s in made]
    assert datetime.fromisoformat(first["synced_at"]) == start + timedelta(minutes=10) - (
        SYNC_OVERLAP
    )

    cancelled, moved, untouched = made
    new_start = datetime.fromisoformat(moved["starts_at"]) + timedelta(hours=5)
    with at(start + timedelta(hours=1)):
        staff = client_for(counselor)  # an access token lives minutes
        assert staff.post(f"/api/v1/sessions/{cancelled['id']}/cancel/").status_code == 200
        answer = staff.patch(
            f"/api/v1/sessions/{moved['id']}/",
            {
                "starts_at": new_start.isoformat(),
                "ends_at": (new_start + timedelta(hours=1)).isoformat(),
            },
            format="json",
        )
        assert answer.status_code == 200, answer.content
    with at(start + timedelta(hours=2)):
        changed = sync(enrollment.patient, first["synced_at"])
    by_id = {s["id"]: s for s in changed["results"]}
    assert set(by_id) == {cancelled["id"], moved["id"]}  # not the one nobody touched
    assert by_id[cancelled["id"]]["status"] == "cancelled"
    assert datetime.fromisoformat(by_id[moved["id"]]["starts_at"]) == new_start
    assert untouched["id"] not in by_id
    # Nothing changed since: nothing comes.
    with at(start + timedelta(hours=3)):
        assert sync(enrollment.patient, changed["synced_at"])["results"] == []


def test_a_session_written_just_before_a_sync_comes_again_in_the_next(
    enrollment: Enrollment,
) -> None:
    start = timezone.now()
    with at(start + timedelta(minutes=59)):
        # Stamped a minute before the read; its transaction may commit after it.
        straggler = TreatmentSession.objects.create(
            program=enrollment.program,
            kind="individual_therapy",
            title="Late",
            starts_at=start + timedelta(days=1),
            ends_at=start + timedelta(days=1, hours=1),
        )
        straggler.patients.add(enrollment)
    with at(start + timedelta(hours=1)):
        first = sync(enrollment.patient)
    with at(start + timedelta(hours=2)):
        again = sync(enrollment.patient, first["synced_at"])
    assert [s["id"] for s in again["results"]] == [straggler.id]


def test_a_sync_brings_a_change_to_a_session_that_has_ended(
    enrollment: Enrollment, counselor: User
) -> None:
    """Without `updated_since` a patient lists what is ahead; a sync hands over every
    change, so an app that holds a past session learns it was cancelled."""
    start = timezone.now()
    with at(start - timedelta(days=3)):
        past = client_for(counselor).post(
            "/api/v1/sessions/", body(enrollment, days=1), format="json"
        )
    with at(start):
        first = sync(enrollment.patient)
        assert first["results"] == []  # it has ended
        client_for(counselor).post(f"/api/v1/sessions/{past.json()['id']}/cancel/")
    with at(start + timedelta(minutes=5)):
        changed = sync(enrollment.patient, first["synced_at"])
    assert [(s["id"], s["status"]) for s in changed["results"]] == [
        (past.json()["id"], "cancelled")
    ]


def test_the_cancelled_rest_of_a_series_and_its_new_time_come_in_one_sync(
    enrollment: Enrollment, counselor: User, time_machine: Any
) -> None:
    time_machine.move_to(datetime(2026, 3, 1, 12, 0, tzinfo=NY), tick=False)
    staff = client_for(counselor)
    series = staff.post(
        "/api/v1/series/",
        {
            "kind": "individual_therapy",
            "title": "Evening group",
            "rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=8",
            "start_date": "2026-03-02",
            "start_time": "18:00",
            "duration_minutes": 60,
            "timezone": "America/New_York",
            "patients": [enrollment.id],
        },
        format="json",
    ).json()
    time_machine.move_to(datetime(2026, 3, 1, 12, 30, tzinfo=NY), tick=False)
    first = sync(enrollment.patient, page_size=50)
    time_machine.move_to(datetime(2026, 3, 1, 13, 0, tzinfo=NY), tick=False)
    moved = client_for(counselor).post(
        f"/api/v1/series/{series['id']}/move-rest/",
        {"from_date": "2026-03-16", "start_time": "17:30", "duration_minutes": 60},
        format="json",
    )
    assert moved.status_code == 201, moved.content
    time_machine.move_to(datetime(2026, 3, 1, 14, 0, tzinfo=NY), tick=False)
    changed = sync(enrollment.patient, first["synced_at"], page_size=50)["results"]
    old = [s for s in changed if s["series"] == series["id"]]
    new = [s for s in changed if s["series"] == moved.json()["id"]]
    assert old
    assert {s["status"] for s in old} == {"cancelled"}
    assert new
    assert {s["status"] for s in new} == {"scheduled"}
    assert {
        datetime.fromisoformat(s["starts_at"]).astimezone(NY).strftime("%H:%M") for s in new
    } == {"17:30"}
    # The weeks before the cut did not change: they do not come again.
    assert all(
        datetime.fromisoformat(s["starts_at"]) >= datetime(2026, 3, 16, tzinfo=NY) for s in old
    )


def test_another_patients_session_changes_never_come(
    enrollment: Enrollment, counselor: User
) -> None:
    other = EnrollmentFactory(program=enrollment.program, primary_counselor=counselor)
    start = timezone.now()
    with at(start):
        first = sync(enrollment.patient)
    with at(start + timedelta(minutes=10)):
        theirs = client_for(counselor).post("/api/v1/sessions/", body(other, days=2), format="json")
        client_for(counselor).post(f"/api/v1/sessions/{theirs.json()['id']}/cancel/")
    with at(start + timedelta(minutes=20)):
        mine = sync(enrollment.patient, first["synced_at"])
        their_own = sync(other.patient, first["synced_at"])
    assert mine["results"] == []
    assert [s["id"] for s in their_own["results"]] == [theirs.json()["id"]]
    assert "patients" not in their_own["results"][0]  # the patient's own shape


def test_a_bad_updated_since_is_a_field_error(enrollment: Enrollment) -> None:
    response = client_for(enrollment.patient).get(
        "/api/v1/sessions/", {"updated_since": "yesterday"}
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"updated_since"}


def test_staff_sync_the_programs_schedule_too(enrollment: Enrollment, counselor: User) -> None:
    start = timezone.now()
    with at(start):
        first = sync(counselor)
    with at(start + timedelta(minutes=10)):
        made = client_for(counselor).post(
            "/api/v1/sessions/", body(enrollment, days=2), format="json"
        )
    with at(start + timedelta(minutes=20)):
        changed = sync(counselor, first["synced_at"])
    assert [s["id"] for s in changed["results"]] == [made.json()["id"]]
    assert changed["results"][0]["patients"] == [enrollment.id]
