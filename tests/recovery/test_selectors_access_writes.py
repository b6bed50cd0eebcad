"""Who may change, cancel and hand on sessions and series, and change who is on them
(`sessions_writable_by`, `series_writable_by`, `may_change_facilitator`,
`roll_change_problems`).

The cast: patient A on counselor C's care team, patient B on counselor O's; supervisor S.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from backend.timezones import local_today
from notifications.models import Notification
from recovery.models import SessionSeries, TreatmentSession, User
from recovery.selectors.access import roll_change_problems
from tests.conftest import client_for
from tests.factories import CounselorFactory, EnrollmentFactory, SessionFactory

pytestmark = pytest.mark.django_db
ZONE = "America/New_York"


@pytest.fixture
def cast(program: Any, counselor: User, supervisor: User) -> dict[str, Any]:
    other = CounselorFactory(program=program)
    return {
        "C": counselor,
        "O": other,
        "S": supervisor,
        "a": EnrollmentFactory(program=program, primary_counselor=counselor),
        "b": EnrollmentFactory(program=program, primary_counselor=other),
    }


def _series(program: Any, facilitator: User, kind: str = "group_therapy") -> SessionSeries:
    return SessionSeries.objects.create(
        program=program,
        kind=kind,
        title="Weekly group",
        rrule="FREQ=WEEKLY;COUNT=4",
        start_date=local_today(ZONE) + timedelta(days=1),
        start_time=time(18, 0),
        duration_minutes=90,
        timezone=ZONE,
        facilitator=facilitator,
    )


def test_nobody_takes_over_a_session_or_series_without_patients(
    cast: dict[str, Any], program: Any
) -> None:
    """An empty roll is not "every patient in reach": O may not change, cancel or take
    over C's sessions and series that have nobody on them yet."""
    o = client_for(cast["O"])
    for kind in ("individual_therapy", "group_therapy"):
        session = SessionFactory(program=program, kind=kind, facilitator=cast["C"])
        patch = o.patch(
            f"/api/v1/sessions/{session.id}/", {"facilitator": cast["O"].id}, format="json"
        )
        assert patch.status_code == 404, kind
        assert o.post(f"/api/v1/sessions/{session.id}/cancel/").status_code == 404, kind
        session.refresh_from_db()
        assert (session.facilitator_id, session.status) == (cast["C"].id, "scheduled")
    series = _series(program, cast["C"], kind="individual_therapy")
    soon = (timezone.now() + timedelta(hours=1)).isoformat()
    cancel = o.post(
        f"/api/v1/series/{series.id}/cancel-rest/", {"from_instant": soon}, format="json"
    )
    assert cancel.status_code == 404
    move = o.post(
        f"/api/v1/series/{series.id}/move-rest/",
        {
            "from_date": local_today(ZONE).isoformat(),
            "start_time": "07:00",
            "duration_minutes": 30,
        },
        format="json",
    )
    assert move.status_code == 404
    assert SessionSeries.objects.count() == 1
    # C, who facilitates, still may.
    assert client_for(cast["C"]).post(f"/api/v1/sessions/{session.id}/cancel/").status_code == 200


def test_a_counselor_cancels_only_individual_sessions_of_their_patients(
    cast: dict[str, Any], program: Any
) -> None:
    """A group of O's with only C's patient on it is still O's group; an individual
    session of C's patient that O facilitates C may cancel."""
    c, a = client_for(cast["C"]), cast["a"]
    group = SessionFactory(program=program, kind="group_therapy", facilitator=cast["O"])
    group.patients.set([a])
    assert c.post(f"/api/v1/sessions/{group.id}/cancel/").status_code == 404
    renamed = c.patch(f"/api/v1/sessions/{group.id}/", {"title": "x"}, format="json")
    assert renamed.status_code == 404
    series = _series(program, cast["O"])
    series.patients.set([a])
    soon = (timezone.now() + timedelta(hours=1)).isoformat()
    assert (
        c.post(
            f"/api/v1/series/{series.id}/cancel-rest/", {"from_instant": soon}, format="json"
        ).status_code
        == 404
    )
    individual = SessionFactory(program=program, kind="individual_therapy", facilitator=cast["O"])
    individual.patients.set([a])
    assert c.post(f"/api/v1/sessions/{individual.id}/cancel/").status_code == 200


def test_only_the_facilitator_or_a_supervisor_changes_who_facilitates(
    cast: dict[str, Any], program: Any
) -> None:
    a = cast["a"]
    session = SessionFactory(program=program, kind="individual_therapy", facilitator=cast["O"])
    session.patients.set([a])
    c = client_for(cast["C"])
    # C may change the session of their patient, but not take it from O.
    taken = c.patch(f"/api/v1/sessions/{session.id}/", {"facilitator": cast["C"].id}, format="json")
    assert taken.status_code == 400
    assert "facilitator" in taken.json()["error"]["fields"]
    dropped = c.patch(f"/api/v1/sessions/{session.id}/", {"facilitator": None}, format="json")
    assert dropped.status_code == 400
    unchanged = c.patch(
        f"/api/v1/sessions/{session.id}/",
        {"facilitator": cast["O"].id, "title": "Renamed"},
        format="json",
    )
    assert unchanged.status_code == 200, unchanged.content
    session.refresh_from_db()
    assert (session.facilitator_id, session.title) == (cast["O"].id, "Renamed")
    # O hands it on; the supervisor hands it back.
    handed = client_for(cast["O"]).patch(
        f"/api/v1/sessions/{session.id}/", {"facilitator": cast["C"].id}, format="json"
    )
    assert handed.status_code == 200, handed.content
    back = client_for(cast["S"]).patch(
        f"/api/v1/sessions/{session.id}/", {"facilitator": cast["O"].id}, format="json"
    )
    assert back.status_code == 200, back.content
    session.refresh_from_db()
    assert session.facilitator_id == cast["O"].id


def test_the_facilitator_sends_back_the_roll_they_read(cast: dict[str, Any], program: Any) -> None:
    """O facilitates a group with A (not O's patient) and B: the roll O reads is the roll
    O may send back, and O, who owns the roll, may take A off it."""
    a, b = cast["a"], cast["b"]
    group = SessionFactory(program=program, kind="group_therapy", facilitator=cast["O"])
    group.patients.set([a, b])
    o = client_for(cast["O"])
    roll = o.get(f"/api/v1/sessions/{group.id}/").json()["patients"]
    assert roll == sorted([a.id, b.id])
    same = o.patch(f"/api/v1/sessions/{group.id}/", {"patients": roll}, format="json")
    assert same.status_code == 200, same.content
    assert sorted(group.patients.values_list("id", flat=True)) == roll
    assert Notification.objects.filter(recipient=a.patient, state="pending").exists()
    # Adding someone out of reach is still refused.
    stranger = EnrollmentFactory(program=program, primary_counselor=cast["C"])
    refused = o.patch(
        f"/api/v1/sessions/{group.id}/", {"patients": [*roll, stranger.id]}, format="json"
    )
    assert refused.status_code == 400
    assert "patients" in refused.json()["error"]["fields"]
    shorter = o.patch(f"/api/v1/sessions/{group.id}/", {"patients": [b.id]}, format="json")
    assert shorter.status_code == 200
    assert list(group.patients.values_list("id", flat=True)) == [b.id]
    assert not Notification.objects.filter(recipient=a.patient, state="pending").exists()


def test_only_the_owners_of_the_roll_take_off_patients_out_of_reach(
    cast: dict[str, Any], program: Any
) -> None:
    a, b = cast["a"], cast["b"]
    group = SessionFactory(program=program, kind="group_therapy", facilitator=cast["O"])
    group.patients.set([a, b])
    assert "patients" in roll_change_problems(cast["C"], group, [a.id])
    assert roll_change_problems(cast["C"], group, [a.id, b.id]) == {}
    assert roll_change_problems(cast["O"], group, [b.id]) == {}
    assert roll_change_problems(cast["S"], group, []) == {}
    empty = SessionFactory(program=program, facilitator=cast["O"])
    assert roll_change_problems(cast["C"], empty, [a.id]) == {}
    assert TreatmentSession.objects.count() == 2
