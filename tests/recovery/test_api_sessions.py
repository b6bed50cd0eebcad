"""Sessions, recurring series and attendance through the API."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import yaml
from django.utils import timezone
from rest_framework.test import APIClient

from backend.openapi import YEAR_IN_RANGE
from backend.timezones import local_today
from notifications.models import Notification, NotificationState
from recovery.models import Enrollment, SessionSeries, TreatmentSession, User
from tests.conftest import client_for
from tests.factories import CounselorFactory, EnrollmentFactory, SessionFactory

pytestmark = pytest.mark.django_db
NY = zoneinfo.ZoneInfo("America/New_York")


def session_body(enrollment: Enrollment, *, days: float = 3, hours: float = 3) -> dict[str, Any]:
    start = (timezone.now() + timedelta(days=days)).replace(microsecond=0)
    # An individual session: the counselor of its patient may change and cancel it.
    return {
        "kind": "individual_therapy",
        "title": "Relapse prevention",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=hours)).isoformat(),
        "location": "Room 2",
        "patients": [enrollment.id],
    }


def pending_reminders(enrollment: Enrollment) -> list[Notification]:
    return list(
        Notification.objects.filter(
            recipient=enrollment.patient,
            kind="session_reminder",
            state=NotificationState.PENDING,
        ).order_by("due_at")
    )


# --- one-off sessions -----------------------------------------------------------------


def test_create_a_session_the_patient_sees_without_the_others(
    counselor_client: APIClient, enrollment: Enrollment, counselor: User
) -> None:
    other = EnrollmentFactory(program=enrollment.program, primary_counselor=counselor)
    body = {**session_body(enrollment), "patients": [enrollment.id, other.id]}
    body["facilitator"] = counselor.id
    created = counselor_client.post("/api/v1/sessions/", body, format="json")
    assert created.status_code == 201, created.content
    session = created.json()
    assert session["status"] == "scheduled"
    assert sorted(session["patients"]) == sorted([enrollment.id, other.id])
    assert session["facilitator"] == counselor.id
    assert session["series"] is None
    # Reminders at 24 h and 1 h before, for each patient on it.
    assert len(pending_reminders(enrollment)) == 2
    assert len(pending_reminders(other)) == 2

    mine = client_for(enrollment.patient).get("/api/v1/sessions/").json()["results"]
    assert [s["id"] for s in mine] == [session["id"]]
    assert "patients" not in mine[0]
    assert mine[0]["location"] == "Room 2"


def test_staff_list_sessions_in_a_range(counselor_client: APIClient, counselor: User) -> None:
    program = counselor.program
    now = timezone.now()
    soon = SessionFactory(program=program, starts_at=now + timedelta(days=1))
    later = SessionFactory(program=program, starts_at=now + timedelta(days=10))
    SessionFactory()  # another program
    everything = counselor_client.get("/api/v1/sessions/").json()["results"]
    assert [s["id"] for s in everything] == [soon.id, later.id]
    first_week = counselor_client.get(
        "/api/v1/sessions/", {"until": (now + timedelta(days=7)).isoformat()}
    ).json()["results"]
    assert [s["id"] for s in first_week] == [soon.id]
    after = counselor_client.get(
        "/api/v1/sessions/", {"since": (now + timedelta(days=2)).isoformat()}
    ).json()["results"]
    assert [s["id"] for s in after] == [later.id]


def test_patients_see_only_sessions_that_have_not_ended(enrollment: Enrollment) -> None:
    now = timezone.now()
    past = SessionFactory(
        program=enrollment.program,
        starts_at=now - timedelta(days=1),
        ends_at=now - timedelta(hours=20),
    )
    running = SessionFactory(
        program=enrollment.program,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=2),
    )
    for session in (past, running):
        session.patients.set([enrollment])
    listed = client_for(enrollment.patient).get("/api/v1/sessions/").json()["results"]
    assert [s["id"] for s in listed] == [running.id]
    # The past one is still readable on its own.
    assert client_for(enrollment.patient).get(f"/api/v1/sessions/{past.id}/").status_code == 200


def test_moving_a_session_moves_its_reminders_and_tells_the_patient(
    counselor_client: APIClient, enrollment: Enrollment
) -> None:
    session = counselor_client.post(
        "/api/v1/sessions/", session_body(enrollment), format="json"
    ).json()
    before = [n.due_at for n in pending_reminders(enrollment)]
    new_start = datetime.fromisoformat(session["starts_at"]) + timedelta(days=1)
    moved = counselor_client.patch(
        f"/api/v1/sessions/{session['id']}/",
        {
            "starts_at": new_start.isoformat(),
            "ends_at": (new_start + timedelta(hours=2)).isoformat(),
        },
        format="json",
    )
    assert moved.status_code == 200, moved.content
    assert datetime.fromisoformat(moved.json()["starts_at"]) == new_start
    after = [n.due_at for n in pending_reminders(enrollment)]
    assert after == [d + timedelta(days=1) for d in before]
    assert Notification.objects.filter(recipient=enrollment.patient, kind="session_moved").exists()


def test_patch_changes_the_patients(
    counselor_client: APIClient, enrollment: Enrollment, counselor: User
) -> None:
    other = EnrollmentFactory(program=enrollment.program, primary_counselor=counselor)
    session = counselor_client.post(
        "/api/v1/sessions/", session_body(enrollment), format="json"
    ).json()
    swapped = counselor_client.patch(
        f"/api/v1/sessions/{session['id']}/", {"patients": [other.id]}, format="json"
    )
    assert swapped.json()["patients"] == [other.id]
    assert pending_reminders(enrollment) == []
    assert len(pending_reminders(other)) == 2


def test_cancel_a_session(counselor_client: APIClient, enrollment: Enrollment) -> None:
    session = counselor_client.post(
        "/api/v1/sessions/", session_body(enrollment), format="json"
    ).json()
    url = f"/api/v1/sessions/{session['id']}/"
    cancelled = counselor_client.post(f"{url}cancel/")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert pending_reminders(enrollment) == []
    assert Notification.objects.filter(
        recipient=enrollment.patient, kind="session_cancelled"
    ).exists()
    # Cancelling again is harmless; changing a cancelled session is refused.
    assert counselor_client.post(f"{url}cancel/").status_code == 200
    refused = counselor_client.patch(url, {"title": "Back on"}, format="json")
    assert refused.status_code == 400
    seen = client_for(enrollment.patient).get(url).json()
    assert seen["status"] == "cancelled"


# --- series ---------------------------------------------------------------------------


def series_body(enrollment: Enrollment, **overrides: Any) -> dict[str, Any]:
    # Individual, so that the counselor of its patient may cancel and move it.
    return {
        "kind": "individual_therapy",
        "title": "Evening group",
        "rrule": "FREQ=WEEKLY;BYDAY=MO,WE,TH;COUNT=36",
        "start_date": "2026-03-02",  # a Monday; DST starts on the 8th
        "start_time": "18:00",
        "duration_minutes": 180,
        "timezone": "America/New_York",
        "patients": [enrollment.id],
        **overrides,
    }


@pytest.fixture
def on_march_1st(time_machine: Any) -> None:
    time_machine.move_to(datetime(2026, 3, 1, 12, 0, tzinfo=NY), tick=False)


@pytest.mark.usefixtures("on_march_1st")
def test_a_series_expands_its_occurrences_at_local_time(
    enrollment: Enrollment, counselor: User
) -> None:
    staff = client_for(counselor)
    created = staff.post("/api/v1/series/", series_body(enrollment), format="json")
    assert created.status_code == 201, created.content
    series = created.json()
    assert series["expanded_until"] is not None
    occurrences = list(
        TreatmentSession.objects.filter(series_id=series["id"]).order_by("starts_at")
    )
    # Four weeks ahead: three a week.
    assert len(occurrences) == 12
    assert {o.starts_at.astimezone(NY).strftime("%a %H:%M") for o in occurrences} == {
        "Mon 18:00",
        "Wed 18:00",
        "Thu 18:00",
    }
    assert all(o.ends_at - o.starts_at == timedelta(minutes=180) for o in occurrences)
    assert all(list(o.patients.all()) == [enrollment] for o in occurrences)
    listed = staff.get("/api/v1/sessions/", {"page_size": 50}).json()["results"]
    assert {s["series"] for s in listed} == {series["id"]}
    assert [s["id"] for s in staff.get("/api/v1/series/").json()["results"]] == [series["id"]]


@pytest.mark.usefixtures("on_march_1st")
def test_cancel_the_rest_of_a_series(enrollment: Enrollment, counselor: User) -> None:
    staff = client_for(counselor)
    series = staff.post("/api/v1/series/", series_body(enrollment), format="json").json()
    cut = datetime(2026, 3, 16, 0, 0, tzinfo=NY)
    answer = staff.post(
        f"/api/v1/series/{series['id']}/cancel-rest/",
        {"from_instant": cut.isoformat()},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert datetime.fromisoformat(answer.json()["ends_after"]) == cut
    occurrences = TreatmentSession.objects.filter(series_id=series["id"])
    assert {o.status for o in occurrences if o.starts_at < cut} == {"scheduled"}
    assert {o.status for o in occurrences if o.starts_at >= cut} == {"cancelled"}


@pytest.mark.usefixtures("on_march_1st")
def test_move_the_rest_of_a_series_to_a_new_time(enrollment: Enrollment, counselor: User) -> None:
    staff = client_for(counselor)
    series = staff.post("/api/v1/series/", series_body(enrollment), format="json").json()
    moved = staff.post(
        f"/api/v1/series/{series['id']}/move-rest/",
        {"from_date": "2026-03-16", "start_time": "17:30", "duration_minutes": 150},
        format="json",
    )
    assert moved.status_code == 201, moved.content
    new = moved.json()
    assert new["id"] != series["id"]
    assert new["start_time"] == "17:30:00"
    assert new["patients"] == [enrollment.id]
    assert SessionSeries.objects.count() == 2
    fresh = TreatmentSession.objects.filter(series_id=new["id"])
    assert fresh.exists()
    assert {o.starts_at.astimezone(NY).strftime("%H:%M") for o in fresh} == {"17:30"}
    old_after_cut = TreatmentSession.objects.filter(
        series_id=series["id"], starts_at__gte=datetime(2026, 3, 16, tzinfo=NY)
    )
    assert {o.status for o in old_after_cut} == {"cancelled"}


def test_a_rule_without_an_end_is_refused(
    counselor_client: APIClient, enrollment: Enrollment
) -> None:
    body = series_body(
        enrollment, rrule="FREQ=WEEKLY;BYDAY=MO", start_date=local_today(NY).isoformat()
    )
    response = counselor_client.post("/api/v1/series/", body, format="json")
    assert response.status_code == 400
    assert "rrule" in response.json()["error"]["fields"]
    assert not SessionSeries.objects.exists()


def test_a_series_with_several_problems_names_them_all_in_one_answer(
    counselor_client: APIClient, enrollment: Enrollment
) -> None:
    body = series_body(
        enrollment,
        rrule="FREQ=WEEKLY;BYDAY=MO",  # the service's rule: COUNT or UNTIL
        start_date=local_today("America/New_York").isoformat(),
        duration_minutes=2,  # the service's rule: at least 5 minutes
        timezone="Mars/Olympus",  # the field's own rule
    )
    response = counselor_client.post("/api/v1/series/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"rrule", "duration_minutes", "timezone"}
    assert not SessionSeries.objects.exists()


def test_a_session_with_several_problems_names_them_all_in_one_answer(
    counselor_client: APIClient,
) -> None:
    start = timezone.now() + timedelta(days=1)
    response = counselor_client.post(
        "/api/v1/sessions/",
        {
            "kind": "teleportation",  # the field's own choices
            "title": "Evening group",
            "starts_at": start.isoformat(),
            "ends_at": (start - timedelta(hours=1)).isoformat(),  # the service's rule
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"kind", "ends_at"}


# --- attendance -----------------------------------------------------------------------


@pytest.fixture
def past_session(enrollment: Enrollment) -> TreatmentSession:
    now = timezone.now()
    session = SessionFactory(
        program=enrollment.program,
        kind="individual_therapy",
        starts_at=now - timedelta(hours=4),
        ends_at=now - timedelta(hours=1),
    )
    session.patients.set([enrollment])
    return session


def test_recording_attendance(
    counselor_client: APIClient,
    enrollment: Enrollment,
    counselor: User,
    past_session: TreatmentSession,
) -> None:
    url = f"/api/v1/sessions/{past_session.id}/attendance/"
    present = counselor_client.post(
        url, {"patient": enrollment.id, "status": "present"}, format="json"
    )
    assert present.status_code == 201, present.content
    assert present.json()["minutes_attended"] == 180
    assert present.json()["recorded_by"] == counselor.id

    # Correcting it updates the same record.
    late = counselor_client.post(
        url, {"patient": enrollment.id, "status": "late", "minutes_attended": 120}, format="json"
    )
    assert late.status_code == 201
    listed = counselor_client.get(url).json()
    assert [(a["patient"], a["status"], a["minutes_attended"]) for a in listed] == [
        (enrollment.id, "late", 120)
    ]
    summary = counselor_client.get("/api/v1/attendance/summary/", {"patient": enrollment.id}).json()
    assert summary["counts"]["late"] == 1
    assert sum(w["hours_attended"] for w in summary["weeks"]) == 2.0


def test_an_absence_attends_no_minutes(
    counselor_client: APIClient, enrollment: Enrollment, past_session: TreatmentSession
) -> None:
    url = f"/api/v1/sessions/{past_session.id}/attendance/"
    absent = counselor_client.post(
        url, {"patient": enrollment.id, "status": "absent"}, format="json"
    )
    assert absent.json()["minutes_attended"] == 0


def test_attendance_only_for_patients_on_the_session(
    counselor_client: APIClient, counselor: User, past_session: TreatmentSession
) -> None:
    stranger = EnrollmentFactory(program=counselor.program, primary_counselor=counselor)
    url = f"/api/v1/sessions/{past_session.id}/attendance/"
    refused = counselor_client.post(
        url, {"patient": stranger.id, "status": "present"}, format="json"
    )
    assert refused.status_code == 400
    assert "patient" in refused.json()["error"]["fields"]
    assert counselor_client.get(url).json() == []


def test_attendance_with_several_problems_names_them_all_in_one_answer(
    counselor_client: APIClient, counselor: User, past_session: TreatmentSession
) -> None:
    stranger = EnrollmentFactory(program=counselor.program, primary_counselor=counselor)
    refused = counselor_client.post(
        f"/api/v1/sessions/{past_session.id}/attendance/",
        {
            "patient": stranger.id,  # the service's rule: on the session
            "status": "teleported",  # the field's own choices
            "minutes_attended": 500,  # the service's rule: at most the session's 180
        },
        format="json",
    )
    assert refused.status_code == 400
    assert set(refused.json()["error"]["fields"]) == {"patient", "status", "minutes_attended"}


def test_an_absence_with_minutes_on_a_cancelled_session_names_both(
    counselor_client: APIClient, enrollment: Enrollment, past_session: TreatmentSession
) -> None:
    counselor_client.post(f"/api/v1/sessions/{past_session.id}/cancel/")
    refused = counselor_client.post(
        f"/api/v1/sessions/{past_session.id}/attendance/",
        {"patient": enrollment.id, "status": "absent", "minutes_attended": 30},
        format="json",
    )
    assert refused.status_code == 400
    assert set(refused.json()["error"]["fields"]) == {"session", "minutes_attended"}


def test_a_change_to_a_cancelled_session_names_every_problem_in_one_answer(
    counselor_client: APIClient, enrollment: Enrollment, past_session: TreatmentSession
) -> None:
    counselor_client.post(f"/api/v1/sessions/{past_session.id}/cancel/")
    refused = counselor_client.patch(
        f"/api/v1/sessions/{past_session.id}/",
        {"kind": "teleportation", "title": "Moved"},
        format="json",
    )
    assert refused.status_code == 400
    assert set(refused.json()["error"]["fields"]) == {"kind", "status"}


def test_no_attendance_on_a_cancelled_session(
    counselor_client: APIClient, enrollment: Enrollment, past_session: TreatmentSession
) -> None:
    counselor_client.post(f"/api/v1/sessions/{past_session.id}/cancel/")
    refused = counselor_client.post(
        f"/api/v1/sessions/{past_session.id}/attendance/",
        {"patient": enrollment.id, "status": "present"},
        format="json",
    )
    assert refused.status_code == 400


def test_staff_of_another_program_cannot_take_the_roll(
    enrollment: Enrollment, past_session: TreatmentSession
) -> None:
    stranger = client_for(CounselorFactory())
    response = stranger.post(
        f"/api/v1/sessions/{past_session.id}/attendance/",
        {"patient": enrollment.id, "status": "present"},
        format="json",
    )
    assert response.status_code == 404
    assert not past_session.attendance.exists()


def test_a_session_someone_attended_is_not_cancelled_until_the_roll_says_nobody_came(
    counselor_client: APIClient, enrollment: Enrollment, past_session: TreatmentSession
) -> None:
    """Cancelling would silently take billed hours away: the roll is corrected first."""

    def roll(status: str) -> None:
        answer = counselor_client.post(
            f"/api/v1/sessions/{past_session.id}/attendance/",
            {"patient": enrollment.id, "status": status},
            format="json",
        )
        assert answer.status_code in (200, 201), answer.content

    roll("present")

    def hours() -> tuple[float, int, Any]:
        summary = counselor_client.get(
            "/api/v1/attendance/summary/", {"patient": enrollment.id}
        ).json()
        row = counselor_client.get("/api/v1/dashboard/caseload/").json()[0]
        return (
            sum(w["hours_attended"] for w in summary["weeks"]),
            summary["counts"]["present"],
            row["last_session_attended_at"],
        )

    assert hours()[:2] == (3.0, 1)
    refused = counselor_client.post(f"/api/v1/sessions/{past_session.id}/cancel/")
    assert refused.status_code == 400
    assert "status" in refused.json()["error"]["fields"]
    assert hours()[:2] == (3.0, 1)

    roll("excused")
    cancelled = counselor_client.post(f"/api/v1/sessions/{past_session.id}/cancel/")
    assert cancelled.status_code == 200
    assert hours() == (0.0, 0, None)


def test_a_roll_taken_ahead_of_the_session_counts_no_hours_yet(
    counselor_client: APIClient, enrollment: Enrollment
) -> None:
    ahead = SessionFactory(program=enrollment.program)  # in two days
    ahead.patients.set([enrollment])
    counselor_client.post(
        f"/api/v1/sessions/{ahead.id}/attendance/",
        {"patient": enrollment.id, "status": "present"},
        format="json",
    )
    summary = counselor_client.get("/api/v1/attendance/summary/", {"patient": enrollment.id})
    assert sum(w["hours_attended"] for w in summary.json()["weeks"]) == 0
    assert counselor_client.get("/api/v1/dashboard/caseload/").json()[0]["hours_this_week"] == 0


def test_the_past_of_a_series_is_neither_cancelled_nor_moved(
    counselor_client: APIClient, enrollment: Enrollment
) -> None:
    series = counselor_client.post(
        "/api/v1/series/",
        series_body(enrollment, start_date=(local_today(NY) - timedelta(days=14)).isoformat()),
        format="json",
    ).json()
    past = TreatmentSession.objects.filter(series_id=series["id"], starts_at__lt=timezone.now())
    assert past.exists()
    cancel = counselor_client.post(
        f"/api/v1/series/{series['id']}/cancel-rest/",
        {"from_instant": (timezone.now() - timedelta(days=7)).isoformat()},
        format="json",
    )
    assert cancel.status_code == 400
    move = counselor_client.post(
        f"/api/v1/series/{series['id']}/move-rest/",
        {
            "from_date": (local_today(NY) - timedelta(days=7)).isoformat(),
            "start_time": "17:00",
            "duration_minutes": 60,
        },
        format="json",
    )
    assert move.status_code == 400
    assert {s.status for s in past} == {"scheduled"}
    assert SessionSeries.objects.count() == 1


def test_the_schema_documents_local_times_and_the_patients_session_shape(
    enrollment: Enrollment,
) -> None:
    schema = yaml.safe_load(APIClient().get("/api/schema/").content)
    components = schema["components"]["schemas"]
    start_time = components["Series"]["properties"]["start_time"]
    assert "format" not in start_time
    assert re.match(start_time["pattern"], "18:00:00")
    assert re.match(start_time["pattern"], "18:00")
    session = SessionFactory(program=enrollment.program)
    session.patients.set([enrollment])
    seen = client_for(enrollment.patient).get(f"/api/v1/sessions/{session.id}/").json()
    required = set(components["Session"]["required"])
    assert required <= set(seen)


def test_the_schema_documents_the_session_lists_since_and_until() -> None:
    # Documented, so clients know them and the schema-wide extreme-value test reaches them.
    schema = yaml.safe_load(APIClient().get("/api/schema/").content)
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/sessions/"]["get"]["parameters"]}
    for name in ("since", "until"):
        assert parameters[name]["in"] == "query"
        assert parameters[name]["schema"] == {
            "type": "string",
            "format": "date-time",
            "pattern": YEAR_IN_RANGE,
        }


@pytest.mark.parametrize(("days_back", "status"), [(366, 201), (367, 400)])
def test_a_series_reaches_back_a_year_from_the_programs_date(
    counselor: User, enrollment: Enrollment, time_machine: Any, days_back: int, status: int
) -> None:
    # 22:00 on New Year's Eve in New York: already 1 January in UTC.
    time_machine.move_to(datetime(2025, 12, 31, 22, 0, tzinfo=NY), tick=False)
    start = date(2025, 12, 31) - timedelta(days=days_back)
    created = client_for(counselor).post(
        "/api/v1/series/",
        series_body(enrollment, rrule="FREQ=WEEKLY;COUNT=2", start_date=start.isoformat()),
        format="json",
    )
    assert created.status_code == status, created.content
    if status == 400:
        assert created.json()["error"]["fields"]["start_date"] == ["At most a year in the past."]
