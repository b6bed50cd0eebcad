"""Editing the week calendar on the dashboard: a session or a weekly series, moving or
cancelling one occurrence or the rest of a series, with the API's rules and access;
each change checked against what the API then answers."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.test import Client

from backend.timezones import local_today
from recovery.models import (
    Attendance,
    AttendanceStatus,
    SessionSeries,
    SessionStatus,
    TreatmentSession,
)
from recovery.services.series import series_create
from tests.conftest import client_for
from tests.factories import CounselorFactory, EnrollmentFactory, SessionFactory, SupervisorFactory

pytestmark = pytest.mark.django_db

NEW = "/dashboard/calendar/new/"


def _browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _zone(program: Any) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(program.timezone)


def _in_days(program: Any, days: int) -> date:
    return local_today(program.timezone) + timedelta(days=days)


def _form(**fields: Any) -> dict[str, Any]:
    return {
        "title": "Relapse prevention group",
        "kind": "group_therapy",
        "start_time": "18:00",
        "end_time": "19:30",
        "location": "Room 3",
        **fields,
    }


def _api_session(user: Any, session_id: int) -> dict[str, Any]:
    response = client_for(user).get(f"/api/v1/sessions/{session_id}/")
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_a_new_session_on_local_wall_time_as_the_api_then_shows(
    counselor: Any, enrollment: Any, program: Any
) -> None:
    day = _in_days(program, 3)
    browser = _browser(counselor)
    response = browser.post(
        NEW,
        _form(start_date=day.isoformat(), facilitator=counselor.id, patients=[enrollment.id]),
    )
    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/calendar/?week={day.isoformat()}"
    session = TreatmentSession.objects.get()
    api = _api_session(counselor, session.id)
    starts = datetime.combine(day, time(18, 0), tzinfo=_zone(program))
    assert datetime.fromisoformat(api["starts_at"]) == starts
    assert datetime.fromisoformat(api["ends_at"]) == starts + timedelta(minutes=90)
    assert (api["title"], api["location"], api["facilitator"]) == (
        "Relapse prevention group",
        "Room 3",
        counselor.id,
    )
    assert api["patients"] == [enrollment.id]
    assert api["series"] is None
    week = browser.get(response["Location"]).content.decode()
    assert "Relapse prevention group" in week
    assert "Session created." in week
    assert f"/dashboard/sessions/{session.id}/change/" in week


def test_a_weekly_series_from_ticked_days(counselor: Any, enrollment: Any, program: Any) -> None:
    day = _in_days(program, 1)
    response = _browser(counselor).post(
        NEW,
        _form(
            start_date=day.isoformat(),
            repeat_days=["MO", "WE"],
            occurrences="4",
            facilitator=counselor.id,
            patients=[enrollment.id],
        ),
    )
    assert response.status_code == 302, response.content.decode()
    series = SessionSeries.objects.get()
    api = client_for(counselor).get("/api/v1/series/").json()
    rows = api["results"] if isinstance(api, dict) else api
    assert [(r["rrule"], r["start_time"], r["duration_minutes"]) for r in rows] == [
        ("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4", "18:00:00", 90)
    ]
    occurrences = list(series.occurrences.order_by("starts_at"))
    assert len(occurrences) == 4
    zone = _zone(program)
    for session in occurrences:
        local = session.starts_at.astimezone(zone)
        assert local.strftime("%a") in {"Mon", "Wed"}
        assert local.time() == time(18, 0)


def test_the_form_names_each_problem_on_its_field_and_saves_nothing(
    counselor: Any, program: Any
) -> None:
    browser = _browser(counselor)
    day = _in_days(program, 2).isoformat()
    ends_first = browser.post(NEW, _form(start_date=day, end_time="17:00"))
    assert ends_first.status_code == 400
    html = ends_first.content.decode()
    assert 'id="id_end_time_error"' in html
    assert "A session ends after it starts." in html
    assert 'aria-invalid="true"' in html
    no_count = browser.post(NEW, _form(start_date=day, repeat_days=["TU"]))
    assert no_count.status_code == 400
    assert "Say how many sessions the series has." in no_count.content.decode()
    long_ago = (local_today(program.timezone) - timedelta(days=400)).isoformat()
    old = browser.post(NEW, _form(start_date=long_ago, repeat_days=["TU"], occurrences="3"))
    assert "At most a year in the past." in old.content.decode()
    too_long = browser.post(
        NEW,
        _form(
            start_date=day,
            repeat_days=["TU"],
            occurrences="3",
            start_time="06:00",
            end_time="19:00",
        ),
    )
    assert "Between 5 minutes and 12 hours." in too_long.content.decode()
    missing = browser.post(NEW, {"kind": "nonsense", "start_date": "2026-02-30"})
    assert missing.status_code == 400
    text = missing.content.decode()
    assert "This field is required." in text
    assert "Select a valid choice." in text
    assert "Enter a valid date." in text
    assert not TreatmentSession.objects.exists()
    assert not SessionSeries.objects.exists()


def test_patients_out_of_reach_cannot_be_booked(counselor: Any, program: Any) -> None:
    theirs = EnrollmentFactory(program=program, primary_counselor=CounselorFactory(program=program))
    form = _browser(counselor).get(NEW).content.decode()
    assert theirs.patient.last_name not in form
    response = _browser(counselor).post(
        NEW, _form(start_date=_in_days(program, 2).isoformat(), patients=[theirs.id])
    )
    assert response.status_code == 400
    assert not TreatmentSession.objects.exists()


def test_move_one_session_and_the_api_has_the_new_time(counselor: Any, program: Any) -> None:
    session = SessionFactory(program=program, facilitator=counselor, kind="group_therapy")
    page = _browser(counselor).get(f"/dashboard/sessions/{session.id}/change/")
    assert page.status_code == 200
    day = _in_days(program, 5)
    moved = _browser(counselor).post(
        f"/dashboard/sessions/{session.id}/change/",
        {
            "action": "move",
            "move-day": day.isoformat(),
            "move-start_time": "09:15",
            "move-end_time": "10:45",
        },
    )
    assert moved.status_code == 302
    api = _api_session(counselor, session.id)
    starts = datetime.combine(day, time(9, 15), tzinfo=_zone(program))
    assert datetime.fromisoformat(api["starts_at"]) == starts
    assert datetime.fromisoformat(api["ends_at"]) == starts + timedelta(minutes=90)
    refused = _browser(counselor).post(
        f"/dashboard/sessions/{session.id}/change/",
        {
            "action": "move",
            "move-day": day.isoformat(),
            "move-start_time": "11:00",
            "move-end_time": "10:00",
        },
    )
    assert refused.status_code == 400
    assert "A session ends after it starts." in refused.content.decode()


def test_cancel_one_session_and_a_cancelled_one_cannot_move(counselor: Any, program: Any) -> None:
    session = SessionFactory(program=program, facilitator=counselor, kind="group_therapy")
    url = f"/dashboard/sessions/{session.id}/change/"
    assert _browser(counselor).post(url, {"action": "cancel"}).status_code == 302
    assert _api_session(counselor, session.id)["status"] == SessionStatus.CANCELLED
    refused = _browser(counselor).post(
        url,
        {
            "action": "move",
            "move-day": _in_days(program, 4).isoformat(),
            "move-start_time": "09:00",
            "move-end_time": "10:00",
        },
    )
    assert refused.status_code == 400
    assert "This session is cancelled." in refused.content.decode()


def test_a_session_someone_attended_is_not_cancelled(
    counselor: Any, enrollment: Any, program: Any
) -> None:
    session = SessionFactory(program=program, facilitator=counselor, kind="group_therapy")
    session.patients.set([enrollment])
    Attendance.objects.create(
        session=session,
        enrollment=enrollment,
        status=AttendanceStatus.PRESENT,
        minutes_attended=60,
        recorded_at=session.starts_at,
    )
    refused = _browser(counselor).post(
        f"/dashboard/sessions/{session.id}/change/", {"action": "cancel"}
    )
    assert refused.status_code == 400
    assert "Attendance is recorded for this session" in refused.content.decode()
    assert _api_session(counselor, session.id)["status"] == SessionStatus.SCHEDULED


@pytest.fixture
def series(counselor: Any, enrollment: Any, program: Any) -> SessionSeries:
    return series_create(
        program_id=program.id,
        kind="group_therapy",
        title="Evening group",
        rule="FREQ=DAILY;COUNT=6",
        start_date=_in_days(program, 1),
        start_time=time(18, 0),
        duration_minutes=120,
        timezone_name=program.timezone,
        facilitator=counselor,
        patients=[enrollment],
    )


def test_cancel_the_rest_of_a_series_from_one_occurrence(
    series: SessionSeries, counselor: Any
) -> None:
    occurrences = list(series.occurrences.order_by("starts_at"))
    third = occurrences[2]
    response = _browser(counselor).post(
        f"/dashboard/sessions/{third.id}/change/", {"action": "cancel_rest"}
    )
    assert response.status_code == 302
    statuses = [_api_session(counselor, s.id)["status"] for s in occurrences]
    assert statuses == ["scheduled", "scheduled"] + ["cancelled"] * 4
    rows = client_for(counselor).get("/api/v1/series/").json()
    rows = rows["results"] if isinstance(rows, dict) else rows
    assert datetime.fromisoformat(rows[0]["ends_after"]) == third.starts_at


def test_move_the_rest_of_a_series_to_a_new_time(
    series: SessionSeries, counselor: Any, program: Any
) -> None:
    occurrences = list(series.occurrences.order_by("starts_at"))
    fourth = occurrences[3]
    response = _browser(counselor).post(
        f"/dashboard/sessions/{fourth.id}/change/",
        {"action": "move_rest", "rest-start_time": "17:00", "rest-end_time": "18:30"},
    )
    assert response.status_code == 302, response.content.decode()
    statuses = [_api_session(counselor, s.id)["status"] for s in occurrences]
    assert statuses == ["scheduled"] * 3 + ["cancelled"] * 3
    rows = client_for(counselor).get("/api/v1/series/").json()
    rows = rows["results"] if isinstance(rows, dict) else rows
    moved = [r for r in rows if r["id"] != series.id]
    assert [(r["start_date"], r["start_time"], r["duration_minutes"]) for r in moved] == [
        (fourth.starts_at.astimezone(_zone(program)).date().isoformat(), "17:00:00", 90)
    ]
    # Three sessions were left; the moved series has those three, not six more.
    assert moved[0]["rrule"] == "FREQ=DAILY;COUNT=3"
    new_sessions = TreatmentSession.objects.filter(series_id=moved[0]["id"])
    assert new_sessions.count() == 3
    bad = _browser(counselor).post(
        f"/dashboard/sessions/{occurrences[1].id}/change/",
        {"action": "move_rest", "rest-start_time": "17:00", "rest-end_time": "17:02"},
    )
    assert bad.status_code == 400
    assert "Between 5 minutes and 12 hours." in bad.content.decode()


def test_the_past_of_a_series_is_history(series: SessionSeries, counselor: Any) -> None:
    first = series.occurrences.order_by("starts_at").first()
    assert first is not None
    TreatmentSession.objects.filter(id=first.id).update(
        starts_at=first.starts_at - timedelta(days=3), ends_at=first.ends_at - timedelta(days=3)
    )
    url = f"/dashboard/sessions/{first.id}/change/"
    cancel = _browser(counselor).post(url, {"action": "cancel_rest"})
    assert cancel.status_code == 400
    assert "Give an instant from now on." in cancel.content.decode()
    move = _browser(counselor).post(
        url, {"action": "move_rest", "rest-start_time": "17:00", "rest-end_time": "18:00"}
    )
    assert move.status_code == 400
    assert "Give today or a later date." in move.content.decode()
    assert SessionSeries.objects.count() == 1


def test_only_who_may_change_a_session_sees_and_uses_the_forms(
    counselor: Any, program: Any, supervisor: Any
) -> None:
    """The API's rule: a group session belongs to its facilitator and the supervisors."""
    session = SessionFactory(program=program, facilitator=counselor, kind="group_therapy")
    colleague = CounselorFactory(program=program)
    url = f"/dashboard/sessions/{session.id}/change/"
    assert _browser(colleague).get(url).status_code == 404
    assert _browser(colleague).post(url, {"action": "cancel"}).status_code == 404
    week = f"/dashboard/calendar/?week={session.starts_at.date().isoformat()}"
    assert url not in _browser(colleague).get(week).content.decode()
    assert url in _browser(supervisor).get(week).content.decode()
    assert _browser(SupervisorFactory()).get(url).status_code == 404
    assert _browser(supervisor).post(url, {"action": "cancel"}).status_code == 302
    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED
