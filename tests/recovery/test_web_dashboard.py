"""The browser dashboard under /dashboard/, through Django's test client.

Staff only; the API's access rules (care team for counselors, the program for
supervisors, 404 otherwise); actions are CSRF-protected POSTs that answer a redirect
without JavaScript and JSON with the re-rendered fragment with it.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from recovery.models import (
    Attendance,
    AuditEntry,
    CheckIn,
    Exercise,
    ExerciseAssignment,
    Flag,
    FlagKind,
    FlagStatus,
    Severity,
)
from recovery.selectors.timeline import TimelineCursor
from recovery.services.enrollment import enrollment_change
from recovery.services.flags import FlagCandidate, flags_raise
from recovery.services.sessions import session_create
from tests.conftest import client_for
from tests.factories import (
    CounselorFactory,
    EnrollmentFactory,
    ProgramFactory,
    SupervisorFactory,
)

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"
JSON = {"HTTP_ACCEPT": "application/json"}


def browser(user: Any = None) -> Client:
    """A client that enforces CSRF, as a browser's requests are checked."""
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def csrf(client: Client, url: str = "/dashboard/") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return str(client.cookies["csrftoken"].value)


def post(client: Client, url: str, data: dict[str, Any] | None = None, **extra: Any) -> Any:
    token = csrf(client)
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": token}, **extra)


def raise_flag(enrollment: Any, kind: str = FlagKind.HIGH_CRAVING, *, ago: int = 0) -> Flag:
    now = timezone.now() - timedelta(minutes=ago)
    (flag,) = flags_raise(
        candidates=[FlagCandidate(enrollment=enrollment, kind=kind, window_key=f"w{ago}{kind}")],
        now=now,
    )
    return flag


def checkin(enrollment: Any, *, craving: int, mood: int = 3, days_ago: int = 0) -> None:
    response = client_for(enrollment.patient).post(
        "/api/v1/checkins/",
        {
            "id": str(uuid.uuid4()),
            "mood": mood,
            "craving": craving,
            "used_substance": False,
            "device_time": (timezone.now() - timedelta(days=days_ago)).isoformat(),
            "device_timezone": enrollment.timezone,
        },
        format="json",
    )
    assert response.status_code == 201, response.content


def link(enrollment: Any) -> str:
    return f'href="/dashboard/patients/{enrollment.id}/"'


@pytest.fixture
def team(program: Any, counselor: Any, enrollment: Any) -> dict[str, Any]:
    """A program with our counselor's patient, a colleague's patient, a supervisor, and a
    patient of another program."""
    colleague = CounselorFactory(program=program)
    theirs = EnrollmentFactory(program=program, primary_counselor=colleague)
    supervisor = SupervisorFactory(program=program)
    elsewhere = EnrollmentFactory(program=ProgramFactory())
    return {
        "counselor": counselor,
        "mine": enrollment,
        "colleague": colleague,
        "theirs": theirs,
        "supervisor": supervisor,
        "elsewhere": elsewhere,
    }


PAGES = ["/dashboard/", "/dashboard/flags/", "/dashboard/calendar/"]


# --- who may come in ---------------------------------------------------------------------


@pytest.mark.parametrize("url", [*PAGES, "/dashboard/patients/1/"])
def test_anonymous_visitors_are_sent_to_sign_in(url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/dashboard/login/?next=")


def test_anonymous_script_requests_get_401_json() -> None:
    client = browser()
    token = csrf(client, "/dashboard/login/")
    response = client.post("/dashboard/token/", HTTP_X_CSRFTOKEN=token, **JSON)
    assert response.status_code == 401
    assert response.json()["error"] == "signed_out"


@pytest.mark.parametrize("url", [*PAGES, "/dashboard/flags/1/row/"])
def test_patients_get_404(url: str, enrollment: Any) -> None:
    assert browser(enrollment.patient).get(url).status_code == 404


def test_patient_page_of_a_patient_for_a_patient_is_404(enrollment: Any) -> None:
    client = browser(enrollment.patient)
    assert client.get(f"/dashboard/patients/{enrollment.id}/").status_code == 404


def test_staff_without_a_program_get_404() -> None:
    assert browser(CounselorFactory(program=None)).get("/dashboard/").status_code == 404


def test_login_page_signs_staff_in_and_sends_them_to_the_caseload(counselor: Any) -> None:
    client = browser()
    token = csrf(client, "/dashboard/login/")
    response = client.post(
        "/dashboard/login/",
        {"username": counselor.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200


def test_login_keeps_next_but_only_on_this_site(counselor: Any) -> None:
    client = browser()
    token = csrf(client, "/dashboard/login/")
    response = client.post(
        "/dashboard/login/?next=https://evil.example/",
        {
            "username": counselor.username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": token,
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == "/dashboard/"
    client = browser()
    token = csrf(client, "/dashboard/login/")
    response = client.post(
        "/dashboard/login/",
        {
            "username": counselor.username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": token,
            "next": "/dashboard/flags/",
        },
    )
    assert response["Location"] == "/dashboard/flags/"


def test_login_refuses_patients_like_a_wrong_password(enrollment: Any) -> None:
    patient = enrollment.patient
    patient.set_password(PASSWORD)
    patient.save()
    client = browser()
    token = csrf(client, "/dashboard/login/")
    response = client.post(
        "/dashboard/login/",
        {"username": patient.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 200
    assert b"correct username and password" in response.content
    assert "_auth_user_id" not in client.session


def test_login_form_without_csrf_is_refused(counselor: Any) -> None:
    response = browser().post(
        "/dashboard/login/", {"username": counselor.username, "password": PASSWORD}
    )
    assert response.status_code == 403


def test_login_shares_the_api_sign_in_rate_limit_per_address() -> None:
    # Different usernames each time: this is the per-address throttle, not a lockout of
    # one account.
    client = browser()
    token = csrf(client, "/dashboard/login/")
    codes = [
        client.post(
            "/dashboard/login/",
            {"username": f"nobody-{n}", "password": "wrong", "csrfmiddlewaretoken": token},
        ).status_code
        for n in range(11)
    ]
    assert codes[:10] == [200] * 10
    assert codes[10] == 429
    response = client.post(
        "/dashboard/login/",
        {"username": "nobody", "password": "wrong", "csrfmiddlewaretoken": token},
    )
    assert b"Too many attempts" in response.content


def test_signed_in_staff_skip_the_login_page(counselor: Any, enrollment: Any) -> None:
    response = browser(counselor).get("/dashboard/login/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    # A patient's session sees the form (to sign in as staff), not a redirect to a 404.
    assert browser(enrollment.patient).get("/dashboard/login/").status_code == 200


def test_logout_is_a_post_and_ends_the_session(counselor: Any) -> None:
    client = browser(counselor)
    assert client.get("/dashboard/logout/").status_code == 405
    response = post(client, "/dashboard/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/login/"
    assert client.get("/dashboard/").status_code == 302


def test_pages_are_not_cached(counselor: Any) -> None:
    response = browser(counselor).get("/dashboard/")
    assert "no-store" in response["Cache-Control"]


# --- caseload ------------------------------------------------------------------------------


def test_caseload_shows_a_counselors_own_patients_with_their_figures(team: dict[str, Any]) -> None:
    mine = team["mine"]
    checkin(mine, craving=3, days_ago=2)
    checkin(mine, craving=6, days_ago=1)
    raise_flag(mine, FlagKind.SUBSTANCE_USE)
    response = browser(team["counselor"]).get("/dashboard/")
    html = response.content.decode()
    assert response.status_code == 200
    assert link(mine) in html
    assert mine.patient.last_name in html
    assert link(team["theirs"]) not in html
    assert link(team["elsewhere"]) not in html
    assert '<svg class="spark"' in html
    assert "<polyline" in html
    assert "1 urgent" in html
    assert f'href="/dashboard/patients/{mine.id}/"' in html
    assert 'scope="col"' in html
    assert 'id="caseload-search"' in html
    by_name = browser(team["counselor"]).get("/dashboard/?sort=name").content.decode()
    assert 'aria-sort="ascending"' in by_name


def test_supervisor_sees_the_whole_program(team: dict[str, Any]) -> None:
    html = browser(team["supervisor"]).get("/dashboard/").content.decode()
    assert link(team["mine"]) in html
    assert link(team["theirs"]) in html
    assert link(team["elsewhere"]) not in html


# --- patient page --------------------------------------------------------------------------


def test_patient_page_shows_charts_timeline_exercises_attendance_and_history(
    team: dict[str, Any],
) -> None:
    mine, counselor = team["mine"], team["counselor"]
    checkin(mine, craving=2, mood=4, days_ago=3)
    checkin(mine, craving=7, mood=2, days_ago=1)
    exercise = Exercise.objects.filter(program__isnull=True).first()
    assert exercise is not None
    ExerciseAssignment.objects.create(enrollment=mine, exercise=exercise, assigned_by=counselor)
    enrollment_change(
        enrollment=mine, actor=counselor, stage="early_recovery", reason="Engaged well"
    )
    raise_flag(mine)
    response = browser(counselor).get(f"/dashboard/patients/{mine.id}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert mine.patient.first_name in html
    assert html.count('class="line-chart"') == 2
    assert "Mood (1 low to 5 high)" in html
    assert "Craving (0 none to 10 strongest)" in html
    assert exercise.name in html
    assert "Early recovery" in html
    assert "Engaged well" in html
    assert "Check-in" in html
    assert "Mood 2/5, craving 7/10" in html
    assert "Hours attended per week" in html
    assert "High craving" in html
    assert 'aria-labelledby="mood-title mood-desc"' in html


def test_patient_page_timeline_pages_with_a_cursor(team: dict[str, Any]) -> None:
    mine = team["mine"]
    checkin(mine, craving=2, days_ago=5)
    checkin(mine, craving=4, days_ago=1)
    newest = CheckIn.objects.filter(enrollment=mine).order_by("-device_time").first()
    assert newest is not None
    cursor = TimelineCursor(at=newest.device_time, type="checkin", id=newest.id).encode()
    client = browser(team["counselor"])
    html = client.get(f"/dashboard/patients/{mine.id}/", {"cursor": cursor}).content.decode()
    assert "craving 2/10" in html
    assert "craving 4/10" not in html
    assert "Back to the latest entries" in html
    # A malformed cursor shows the first page, not an error.
    html = client.get(f"/dashboard/patients/{mine.id}/?cursor=nonsense").content.decode()
    assert "craving 4/10" in html


def test_patient_page_links_older_entries_when_the_page_is_full(
    team: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from recovery.web import views

    monkeypatch.setattr(views, "TIMELINE_PAGE", 1)
    mine = team["mine"]
    checkin(mine, craving=2, days_ago=5)
    checkin(mine, craving=4, days_ago=1)
    client = browser(team["counselor"])
    html = client.get(f"/dashboard/patients/{mine.id}/").content.decode()
    match = re.search(r'href="\?cursor=([^"]+)">Older entries', html)
    assert match is not None
    older = client.get(f"/dashboard/patients/{mine.id}/?cursor={match.group(1)}")
    assert "craving 2/10" in older.content.decode()


def test_counselor_off_the_care_team_gets_404_on_a_patient_page(team: dict[str, Any]) -> None:
    client = browser(team["counselor"])
    assert client.get(f"/dashboard/patients/{team['theirs'].id}/").status_code == 404
    assert client.get(f"/dashboard/patients/{team['elsewhere'].id}/").status_code == 404
    supervisor = browser(team["supervisor"])
    assert supervisor.get(f"/dashboard/patients/{team['theirs'].id}/").status_code == 200
    assert supervisor.get(f"/dashboard/patients/{team['elsewhere'].id}/").status_code == 404


def test_staff_access_through_the_dashboard_is_audited(team: dict[str, Any]) -> None:
    mine, counselor = team["mine"], team["counselor"]
    flag = raise_flag(mine)
    client = browser(counselor)
    client.get(f"/dashboard/patients/{mine.id}/")
    client.get("/dashboard/")
    post(client, f"/dashboard/flags/{flag.id}/acknowledge/", **JSON)
    entries = list(
        AuditEntry.objects.filter(actor=counselor).values_list(
            "resource", "action", "enrollment_id"
        )
    )
    assert ("dashboard-patient", "read", mine.id) in entries
    assert ("dashboard-caseload", "read", mine.id) in entries
    assert ("dashboard-flag-acknowledge", "update", mine.id) in entries
    assert all(enrollment_id == mine.id for _, _, enrollment_id in entries)


# --- flag queue ----------------------------------------------------------------------------


def test_flag_queue_is_most_severe_first_then_oldest(team: dict[str, Any]) -> None:
    mine = team["mine"]
    newer_warning = raise_flag(mine, FlagKind.HIGH_CRAVING, ago=5)
    older_warning = raise_flag(mine, FlagKind.URGE, ago=50)
    crisis = raise_flag(mine, FlagKind.SELF_HARM, ago=1)
    hidden = raise_flag(team["theirs"], FlagKind.SUBSTANCE_USE)
    html = browser(team["counselor"]).get("/dashboard/flags/").content.decode()
    order = [int(i) for i in re.findall(r'data-flag-id="(\d+)"', html)]
    assert order == [crisis.id, older_warning.id, newer_warning.id]
    assert hidden.id not in order
    assert "data-flag-rows" in html


def test_pages_cost_the_same_queries_for_one_patient_or_many(team: dict[str, Any]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    supervisor = team["supervisor"]
    program = team["mine"].program
    client = browser(supervisor)

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    raise_flag(team["mine"])
    _session_this_week(program, [team["mine"]])
    before = {url: queries(url) for url in PAGES}
    for n in range(6):
        enrollment = EnrollmentFactory(program=program, primary_counselor=team["colleague"])
        raise_flag(enrollment, FlagKind.SUBSTANCE_USE, ago=n)
        _session_this_week(program, [enrollment])
    after = {url: queries(url) for url in PAGES}
    assert after == before


def test_flag_row_fragment_respects_access(team: dict[str, Any]) -> None:
    mine_flag = raise_flag(team["mine"])
    theirs_flag = raise_flag(team["theirs"])
    client = browser(team["counselor"])
    response = client.get(f"/dashboard/flags/{mine_flag.id}/row/")
    assert response.status_code == 200
    assert response.content.decode().strip().startswith("<tr")
    assert client.get(f"/dashboard/flags/{theirs_flag.id}/row/").status_code == 404


def test_acknowledge_needs_csrf(team: dict[str, Any]) -> None:
    flag = raise_flag(team["mine"])
    response = browser(team["counselor"]).post(f"/dashboard/flags/{flag.id}/acknowledge/")
    assert response.status_code == 403
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN


def test_acknowledge_in_place_answers_the_new_row(team: dict[str, Any]) -> None:
    flag = raise_flag(team["mine"])
    client = browser(team["counselor"])
    response = post(client, f"/dashboard/flags/{flag.id}/acknowledge/", **JSON)
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["status"] == FlagStatus.ACKNOWLEDGED
    assert body["remove"] is False
    assert f'id="flag-{flag.id}"' in body["html"]
    assert "Acknowledged" in body["html"]
    flag.refresh_from_db()
    assert flag.status == FlagStatus.ACKNOWLEDGED
    assert flag.acknowledged_by == team["counselor"]
    # Twice is refused by the service, and said so.
    again = post(client, f"/dashboard/flags/{flag.id}/acknowledge/", **JSON)
    assert again.status_code == 400
    assert "cannot be acknowledged" in again.json()["errors"][0]


def test_acknowledge_without_javascript_redirects_back_with_a_message(
    team: dict[str, Any],
) -> None:
    flag = raise_flag(team["mine"])
    client = browser(team["counselor"])
    page = f"/dashboard/patients/{team['mine'].id}/"
    response = post(client, f"/dashboard/flags/{flag.id}/acknowledge/", {"next": page})
    assert response.status_code == 302
    assert response["Location"] == page
    assert "Flag acknowledged." in client.get(page).content.decode()
    # A `next` off this site is ignored.
    other = raise_flag(team["mine"], FlagKind.URGE)
    response = post(
        client, f"/dashboard/flags/{other.id}/acknowledge/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == "/dashboard/flags/"


def test_assign_to_program_staff_only(team: dict[str, Any]) -> None:
    flag = raise_flag(team["mine"])
    client = browser(team["counselor"])
    response = post(
        client,
        f"/dashboard/flags/{flag.id}/assign/",
        {"assignee": team["colleague"].id},
        **JSON,
    )
    assert response.status_code == 200
    flag.refresh_from_db()
    assert flag.assigned_to == team["colleague"]
    outsider = CounselorFactory(program=team["elsewhere"].program)
    response = post(
        client, f"/dashboard/flags/{flag.id}/assign/", {"assignee": outsider.id}, **JSON
    )
    assert response.status_code == 400
    flag.refresh_from_db()
    assert flag.assigned_to == team["colleague"]


def test_resolve_needs_a_note_and_then_leaves_the_queue(team: dict[str, Any]) -> None:
    flag = raise_flag(team["mine"])
    client = browser(team["counselor"])
    empty = post(client, f"/dashboard/flags/{flag.id}/resolve/", {"outcome_note": "  "}, **JSON)
    assert empty.status_code == 400
    response = post(
        client,
        f"/dashboard/flags/{flag.id}/resolve/",
        {"outcome_note": "Called the patient; safety plan reviewed."},
        **JSON,
    )
    assert response.status_code == 200
    assert response.json()["remove"] is True
    flag.refresh_from_db()
    assert flag.status == FlagStatus.RESOLVED
    assert flag.outcome_note == "Called the patient; safety plan reviewed."
    html = client.get("/dashboard/flags/").content.decode()
    assert f'data-flag-id="{flag.id}"' not in html


def test_actions_on_a_flag_out_of_reach_are_404(team: dict[str, Any]) -> None:
    flag = raise_flag(team["theirs"])
    client = browser(team["counselor"])
    for action in ("acknowledge", "resolve", "assign"):
        response = post(
            client,
            f"/dashboard/flags/{flag.id}/{action}/",
            {"outcome_note": "x", "assignee": team["counselor"].id},
        )
        assert response.status_code == 404
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN


def test_patients_cannot_act_on_flags(team: dict[str, Any]) -> None:
    flag = raise_flag(team["mine"])
    client = browser(team["mine"].patient)
    client.get("/dashboard/login/")
    token = str(client.cookies["csrftoken"].value)
    response = client.post(
        f"/dashboard/flags/{flag.id}/acknowledge/", {"csrfmiddlewaretoken": token}
    )
    assert response.status_code == 404


# --- websocket token -----------------------------------------------------------------------


def test_socket_token_is_a_short_lived_access_token_for_the_session_user(counselor: Any) -> None:
    client = browser(counselor)
    assert client.get("/dashboard/token/").status_code == 405
    response = post(client, "/dashboard/token/", **JSON)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = AccessToken(response.json()["token"])  # type: ignore[arg-type]
    assert str(token["user_id"]) == str(counselor.id)
    assert token["exp"] - token["iat"] <= 5 * 60


def test_socket_token_needs_csrf_and_staff(enrollment: Any, counselor: Any) -> None:
    assert browser(counselor).post("/dashboard/token/").status_code == 403
    client = browser(enrollment.patient)
    client.get("/dashboard/login/")
    token = str(client.cookies["csrftoken"].value)
    response = client.post("/dashboard/token/", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 404


# --- calendar and attendance ---------------------------------------------------------------


def _session_this_week(program: Any, patients: list[Any]) -> Any:
    starts = timezone.now().replace(microsecond=0)
    return session_create(
        program_id=program.id,
        kind="group_therapy",
        title="Evening process group",
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        patients=patients,
    )


def test_calendar_shows_this_weeks_sessions_with_only_visible_patients(
    team: dict[str, Any],
) -> None:
    session = _session_this_week(team["mine"].program, [team["mine"], team["theirs"]])
    html = browser(team["counselor"]).get("/dashboard/calendar/").content.decode()
    assert "Evening process group" in html
    assert f'id="session-{session.id}"' in html
    assert f'id="att-{session.id}-{team["mine"].id}"' in html
    assert link(team["mine"]) in html
    assert f'id="att-{session.id}-{team["theirs"].id}"' not in html
    assert link(team["theirs"]) not in html
    assert "1 patient not on your caseload" in html
    assert html.count('class="day') == 7


def test_calendar_weeks_navigate_and_bad_weeks_fall_back(team: dict[str, Any]) -> None:
    client = browser(team["counselor"])
    response = client.get("/dashboard/calendar/", {"week": "2026-03-11"})
    assert "week of Monday 9 March 2026" in response.content.decode()
    assert client.get("/dashboard/calendar/", {"week": "soon"}).status_code == 200


def test_calendar_weeks_at_the_ends_of_the_calendar_fall_back(team: dict[str, Any]) -> None:
    client = browser(team["counselor"])
    for week in ("9999-12-31", "0001-01-01"):
        assert client.get("/dashboard/calendar/", {"week": week}).status_code == 200


def test_attendance_for_an_id_no_database_holds_is_refused(team: dict[str, Any]) -> None:
    mine = team["mine"]
    session = _session_this_week(mine.program, [mine])
    client = browser(team["counselor"])
    url = f"/dashboard/sessions/{session.id}/attendance/"
    response = post(client, url, {"patient": 2**64, "status": "present"}, **JSON)
    assert response.status_code == 400
    assert not Attendance.objects.exists()


def test_marking_attendance_from_the_calendar(team: dict[str, Any]) -> None:
    mine = team["mine"]
    session = _session_this_week(mine.program, [mine])
    client = browser(team["counselor"])
    response = post(
        client,
        f"/dashboard/sessions/{session.id}/attendance/",
        {"patient": mine.id, "status": "left_early", "minutes_attended": 90},
        **JSON,
    )
    assert response.status_code == 200, response.content
    assert "Left early, 90 min" in response.json()["html"]
    attendance = Attendance.objects.get(session=session, enrollment=mine)
    assert (attendance.status, attendance.minutes_attended) == ("left_early", 90)
    assert attendance.recorded_by == team["counselor"]
    # Without JavaScript: a redirect back to the calendar.
    response = post(
        client,
        f"/dashboard/sessions/{session.id}/attendance/",
        {"patient": mine.id, "status": "present", "next": "/dashboard/calendar/"},
    )
    assert response.status_code == 302
    attendance.refresh_from_db()
    assert (attendance.status, attendance.minutes_attended) == ("present", 180)


def test_attendance_refusals(team: dict[str, Any]) -> None:
    mine, theirs = team["mine"], team["theirs"]
    session = _session_this_week(mine.program, [mine, theirs])
    client = browser(team["counselor"])
    url = f"/dashboard/sessions/{session.id}/attendance/"
    # A patient off the care team: 404, as everywhere.
    assert post(client, url, {"patient": theirs.id, "status": "present"}).status_code == 404
    # A status that does not exist, and the service's own rules, answer 400 with words.
    bad = post(client, url, {"patient": mine.id, "status": "asleep"}, **JSON)
    assert bad.status_code == 400
    absent = post(
        client, url, {"patient": mine.id, "status": "absent", "minutes_attended": 30}, **JSON
    )
    assert absent.status_code == 400
    assert "absence" in absent.json()["errors"][0]
    # A session of another program: 404.
    other = _session_this_week(team["elsewhere"].program, [team["elsewhere"]])
    response = post(
        client,
        f"/dashboard/sessions/{other.id}/attendance/",
        {"patient": mine.id, "status": "present"},
    )
    assert response.status_code == 404
    assert not Attendance.objects.exists()


def test_dashboard_actions_name_every_problem_in_one_answer(team: dict[str, Any]) -> None:
    mine = team["mine"]
    client = browser(team["counselor"])
    session = _session_this_week(mine.program, [mine])
    attendance = post(
        client,
        f"/dashboard/sessions/{session.id}/attendance/",
        {"patient": mine.id, "status": "asleep", "minutes_attended": 999},
        **JSON,
    )
    assert attendance.status_code == 400
    errors = attendance.json()["errors"]
    # The form's own choices, and the service's rule: at most the session's minutes.
    assert len(errors) == 2, errors
    assert any("180 minutes" in e for e in errors), errors
    flag = raise_flag(mine)
    post(client, f"/dashboard/flags/{flag.id}/resolve/", {"outcome_note": "Called."}, **JSON)
    again = post(client, f"/dashboard/flags/{flag.id}/resolve/", {"outcome_note": " "}, **JSON)
    assert again.status_code == 400
    errors = again.json()["errors"]
    # The note is required, and the flag is already resolved.
    assert len(errors) == 2, errors
    assert any("already resolved" in e for e in errors), errors
    assert not Attendance.objects.exists()


# --- assets --------------------------------------------------------------------------------


def test_assets_are_served_without_a_static_server() -> None:
    client = Client()
    for name in ("dashboard.css", "dashboard.js", "live.js"):
        assert client.get(f"/dashboard/assets/{name}").status_code == 200
    assert client.get("/dashboard/assets/../../web/views.py").status_code in (400, 404)
    assert client.get("/dashboard/assets/missing.js").status_code == 404


def test_severity_badges_and_live_hooks_are_on_every_staff_page(team: dict[str, Any]) -> None:
    raise_flag(team["mine"], FlagKind.SELF_HARM)
    client = browser(team["counselor"])
    for url in PAGES:
        html = client.get(url).content.decode()
        assert 'data-token-url="/dashboard/token/"' in html
        assert 'id="announce-assertive"' in html
        assert 'href="#main"' in html
        assert '<main id="main"' in html
    assert Severity.CRISIS.label in client.get("/dashboard/flags/").content.decode()


def test_dashboard_sign_in_honours_the_programs_two_factor_rule(time_machine) -> None:
    from django.test import Client
    from django.utils import timezone
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.factories import CounselorFactory

    counselor = CounselorFactory()
    counselor.program.require_staff_2fa = True
    counselor.program.save()
    form = {"username": counselor.username, "password": "correct-horse-battery-staple"}
    no_device = Client().post("/dashboard/login/", form)
    assert no_device.status_code == 200
    assert b"requires two-factor" in no_device.content

    device = TOTPDevice.objects.create(user=counselor, name="phone", confirmed=True)
    assert b"6-digit code" in Client().post("/dashboard/login/", form).content
    time_machine.move_to(timezone.now() + timezone.timedelta(seconds=31))
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    signed_in = Client().post("/dashboard/login/", {**form, "otp": code})
    assert signed_in.status_code == 302
