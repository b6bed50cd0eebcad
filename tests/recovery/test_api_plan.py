"""The plan, peer support, screens and medications over the API: who may do what, the
error format for bad input (never a 500, nothing half-saved), and what each answers."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from recovery.models import (
    CheckIn,
    DrugScreen,
    Flag,
    FlagKind,
    GoalStatus,
    Medication,
    MutualHelpMeeting,
    PlanGoal,
    TreatmentPlan,
)
from tests.conftest import client_for
from tests.factories import (
    CounselorFactory,
    EnrollmentFactory,
    ProgramFactory,
    SupervisorFactory,
)

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 3, 16, 0, tzinfo=UTC)  # Wednesday, noon in New York


@pytest.fixture(autouse=True)
def clock(time_machine: Any) -> Any:
    time_machine.move_to(NOON, tick=False)
    return time_machine


@pytest.fixture
def people(program: Any, counselor: Any) -> dict[str, Any]:
    a = EnrollmentFactory(program=program, primary_counselor=counselor, start_date=date(2026, 5, 4))
    other_counselor = CounselorFactory(program=program)
    b = EnrollmentFactory(program=program, primary_counselor=other_counselor)
    elsewhere = ProgramFactory()
    return {
        "a": a,
        "b": b,
        "owner": client_for(a.patient),
        "other_patient": client_for(b.patient),
        "care_team": client_for(counselor),
        "other_counselor": client_for(other_counselor),
        "supervisor": client_for(SupervisorFactory(program=program)),
        "foreign_supervisor": client_for(SupervisorFactory(program=elsewhere)),
    }


def goal_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "domain": "peer_support",
        "description": "Two mutual-help meetings a week",
        "metric": "mutual_help_meetings_per_week",
        "target_value": "2",
        "due_date": "2026-08-01",
    }
    body.update(overrides)
    return body


def write_plan(people: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"patient": people["a"].id, "summary": "Stay sober, rebuild routine", **extra}
    body.setdefault("goals", [goal_body()])
    response = people["care_team"].post("/api/v1/plans/", body, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def fields_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.content
    return dict(response.json()["error"]["fields"])


# --- the plan ---------------------------------------------------------------------------


def test_the_care_team_writes_a_plan_with_goals_and_progress(people):
    plan = write_plan(people)
    assert plan["patient"] == people["a"].id
    (goal,) = plan["goals"]
    assert goal["status"] == "active"
    assert goal["history"][0]["to_status"] == "active"
    assert goal["progress"]["basis"] == "this_week_so_far"
    assert goal["progress"]["target_value"] == 2.0
    assert plan["agreement_current"] is False


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("owner", 200),
        ("other_patient", 404),
        ("care_team", 200),
        ("other_counselor", 404),
        ("supervisor", 200),
        ("foreign_supervisor", 404),
    ],
)
def test_who_reads_a_plan(people, who, code):
    plan = write_plan(people)
    assert people[who].get(f"/api/v1/plans/{plan['id']}/").status_code == code
    listed = people[who].get("/api/v1/plans/").json()["results"]
    assert (plan["id"] in {p["id"] for p in listed}) == (code == 200)


def test_anonymous_callers_are_refused(people):
    plan = write_plan(people)
    assert APIClient().get(f"/api/v1/plans/{plan['id']}/").status_code == 401
    assert APIClient().get("/api/v1/meetings/").status_code == 401


@pytest.mark.parametrize(
    ("who", "code"),
    [("owner", 403), ("other_patient", 403), ("other_counselor", 404), ("supervisor", 201)],
)
def test_who_writes_a_plan(people, who, code):
    response = people[who].post(
        "/api/v1/plans/", {"patient": people["a"].id, "goals": [goal_body()]}, format="json"
    )
    assert response.status_code == code
    assert TreatmentPlan.objects.exists() == (code == 201)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"goals": [goal_body(), goal_body(target_value="abc")]}, "goals"),
        ({"goals": [goal_body(metric="steps")]}, "goals"),
        ({"goals": [goal_body(due_date="2026-13-01")]}, "goals"),
        ({"goals": [goal_body(extra="x")]}, "goals"),
        ({"goals": [1, 2]}, "goals"),
        ({"goals": "two"}, "goals"),
        ({"goals": [goal_body(target_value="0.5")]}, "goals.0.target_value"),
        ({"goals": [goal_body(due_date="2026-01-01")]}, "goals.0.due_date"),
        ({"summary": "x" * 4001}, "summary"),
        ({"owner": 3}, "owner"),
        ({"patient": "me"}, "patient"),
    ],
)
def test_a_bad_plan_is_a_400_with_field_messages_and_saves_nothing(people, body, field):
    response = people["care_team"].post(
        "/api/v1/plans/", {"patient": people["a"].id, **body}, format="json"
    )
    fields = fields_of(response)
    # Nested errors come flattened to dotted keys ("goals.1.target_value").
    assert any(key == field or key.startswith(f"{field}.") for key in fields), fields
    assert not TreatmentPlan.objects.exists()
    assert not PlanGoal.objects.exists()


def test_a_second_plan_is_refused(people):
    write_plan(people)
    response = people["supervisor"].post(
        "/api/v1/plans/", {"patient": people["a"].id}, format="json"
    )
    assert "patient" in fields_of(response)


def test_the_patient_comments_and_agrees_and_a_change_asks_again(people, clock):
    plan = write_plan(people)
    url = f"/api/v1/plans/{plan['id']}/comments/"
    comment = people["owner"].post(url, {"body": "Meetings near work", "agrees": True})
    assert comment.status_code == 201
    assert people["care_team"].get(url).json()["results"][0]["body"] == "Meetings near work"
    assert people["owner"].get(f"/api/v1/plans/{plan['id']}/").json()["agreement_current"]
    assert "agrees" in fields_of(people["care_team"].post(url, {"agrees": True}, format="json"))
    assert people["other_patient"].post(url, {"body": "hi"}).status_code == 404
    clock.shift(60)
    added = people["care_team"].post(
        f"/api/v1/plans/{plan['id']}/goals/",
        goal_body(domain="housing", metric="manual", target_value="1"),
        format="json",
    )
    assert added.status_code == 201
    again = people["owner"].get(f"/api/v1/plans/{plan['id']}/").json()
    assert again["agreement_current"] is False
    assert len(again["goals"]) == 2


def test_a_comment_with_several_problems_names_them_all_in_one_answer(people):
    plan = write_plan(people)
    url = f"/api/v1/plans/{plan['id']}/comments/"
    staff = people["care_team"].post(url, {"body": "x" * 3000, "agrees": True}, format="json")
    # The field's own limit, and the service's rule: only the patient agrees.
    assert set(fields_of(staff)) == {"body", "agrees"}
    patient = people["owner"].post(url, {"body": " ", "tone": "warm"}, format="json")
    assert set(fields_of(patient)) == {"body", "tone"}


def test_patients_do_not_write_the_plan(people):
    plan = write_plan(people)
    goal_id = plan["goals"][0]["id"]
    owner = people["owner"]
    assert owner.patch(f"/api/v1/plans/{plan['id']}/", {"summary": "mine"}).status_code == 403
    assert owner.post(f"/api/v1/plans/{plan['id']}/goals/", goal_body()).status_code == 403
    assert owner.post(f"/api/v1/goals/{goal_id}/status/", {"status": "met"}).status_code == 403
    assert owner.post(f"/api/v1/plans/{plan['id']}/review/", {}).status_code == 403


def test_goal_status_and_revision_keep_their_history(people):
    plan = write_plan(people)
    goal_id = plan["goals"][0]["id"]
    staff = people["care_team"]
    met = staff.post(f"/api/v1/goals/{goal_id}/status/", {"status": "met", "note": "Done"})
    assert met.status_code == 200
    assert [h["to_status"] for h in met.json()["history"]] == ["active", "met"]
    assert "status" in fields_of(staff.post(f"/api/v1/goals/{goal_id}/status/", {"status": "met"}))
    assert "status" in fields_of(
        staff.post(f"/api/v1/goals/{goal_id}/status/", {"status": "revised"})
    )
    revised = staff.post(
        f"/api/v1/goals/{goal_id}/revise/", {"target_value": "3", "note": "More"}, format="json"
    )
    assert revised.status_code == 201
    assert revised.json()["replaces"] == goal_id
    old = staff.get(f"/api/v1/goals/{goal_id}/").json()
    assert old["status"] == GoalStatus.REVISED
    assert old["replaced_by"] == revised.json()["id"]
    assert people["other_counselor"].get(f"/api/v1/goals/{goal_id}/").status_code == 404


def test_a_plan_with_several_problems_names_them_all_in_one_answer(people):
    write_plan(people)
    response = people["care_team"].post(
        "/api/v1/plans/",
        {
            "patient": people["a"].id,  # the service's rule: one plan per patient
            "summary": "x" * 5000,  # the field's own limit
            "goals": [
                goal_body(domain="astrology"),  # the field's own choices
                goal_body(target_value="30", due_date="2026-01-01"),  # the service's limits
            ],
        },
        format="json",
    )
    assert set(fields_of(response)) == {
        "patient",
        "summary",
        "goals.0.domain",
        "goals.1.target_value",
        "goals.1.due_date",
    }


def test_goal_writes_with_several_problems_name_them_all_in_one_answer(people):
    plan = write_plan(people, goals=[goal_body(), goal_body(domain="work_school", metric="manual")])
    staff, goal_id, manual_id = people["care_team"], *[g["id"] for g in plan["goals"]]
    added = staff.post(
        f"/api/v1/plans/{plan['id']}/goals/",
        goal_body(description=" ", target_value="2.5", due_date="2026-01-01", metric="nope"),
        format="json",
    )
    assert set(fields_of(added)) == {"description", "due_date", "metric"}
    added = staff.post(
        f"/api/v1/plans/{plan['id']}/goals/",
        goal_body(domain="nope", target_value="2.5"),
        format="json",
    )
    assert set(fields_of(added)) == {"domain", "target_value"}
    revised = staff.post(
        f"/api/v1/goals/{goal_id}/revise/",
        {"target_value": "2.5", "due_date": "2026-01-01", "note": "x" * 2000},
        format="json",
    )
    assert set(fields_of(revised)) == {"target_value", "due_date", "note"}
    status_set = staff.post(
        f"/api/v1/goals/{goal_id}/status/", {"status": "active", "note": "x" * 2000}
    )
    assert set(fields_of(status_set)) == {"status", "note"}
    progress = staff.post(
        f"/api/v1/goals/{manual_id}/progress/",
        {"value": "-1", "on_date": "2026-07-01", "note": "x" * 2000},
    )
    assert set(fields_of(progress)) == {"value", "on_date", "note"}


def test_revising_a_revised_goal_with_a_bad_field_names_both_in_one_answer(people):
    plan = write_plan(people)
    goal_id = plan["goals"][0]["id"]
    staff = people["care_team"]
    assert staff.post(f"/api/v1/goals/{goal_id}/revise/", {"target_value": "3"}).status_code == 201
    again = staff.post(
        f"/api/v1/goals/{goal_id}/revise/", {"target_value": "4", "metric": "vibes"}, format="json"
    )
    assert set(fields_of(again)) == {"status", "metric"}


def test_goal_writes_for_a_discharged_patient_name_it_with_the_rest(people):
    plan = write_plan(people, goals=[goal_body(), goal_body(domain="work_school", metric="manual")])
    goal_id, manual_id = (g["id"] for g in plan["goals"])
    discharged = people["care_team"].post(
        f"/api/v1/patients/{people['a'].id}/discharge/", {"reason": "completed"}, format="json"
    )
    assert discharged.status_code == 200, discharged.content
    staff = people["care_team"]
    status_set = staff.post(f"/api/v1/goals/{goal_id}/status/", {"status": "met", "x": 1})
    assert set(fields_of(status_set)) == {"patient", "x"}
    progress = staff.post(f"/api/v1/goals/{manual_id}/progress/", {"value": "abc"})
    assert set(fields_of(progress)) == {"patient", "value"}


def test_a_goal_past_the_plans_limit_with_a_bad_field_names_both_in_one_answer(people):
    plan = write_plan(people, goals=[goal_body()] * 60)
    added = people["care_team"].post(
        f"/api/v1/plans/{plan['id']}/goals/", goal_body(domain="astrology"), format="json"
    )
    # The field's own choices, and the service's rule: at most 60 goals.
    assert set(fields_of(added)) == {"domain", "goals"}
    assert PlanGoal.objects.count() == 60


def test_manual_progress_is_recorded_by_the_patient(people):
    plan = write_plan(
        people, goals=[goal_body(domain="work_school", metric="manual", target_value="3")]
    )
    url = f"/api/v1/goals/{plan['goals'][0]['id']}/progress/"
    assert people["owner"].post(url, {"value": "1", "note": "Applied twice"}).status_code == 201
    assert "on_date" in fields_of(
        people["owner"].post(url, {"value": "2", "on_date": "2026-07-01"})
    )
    assert "value" in fields_of(people["owner"].post(url, {"value": "lots"}))
    assert people["other_patient"].post(url, {"value": "1"}).status_code == 404
    assert len(people["care_team"].get(url).json()["results"]) == 1
    goal = people["owner"].get(f"/api/v1/goals/{plan['goals'][0]['id']}/").json()
    assert goal["progress"]["current_value"] == 1.0
    assert goal["progress"]["target_met"] is False


def test_a_review_clears_the_review_due(people):
    from recovery.services.plan import plan_mark_review_due

    plan = write_plan(people)
    plan_mark_review_due(enrollment=people["a"])
    due = people["care_team"].get("/api/v1/plans/?review_due=true").json()["results"]
    assert [p["id"] for p in due] == [plan["id"]]
    review = people["care_team"].post(
        f"/api/v1/plans/{plan['id']}/review/", {"note": "Kept"}, format="json"
    )
    assert review.status_code == 201
    assert people["care_team"].get("/api/v1/plans/?review_due=true").json()["results"] == []


# --- suggestion and caseload ------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "code"),
    [("owner", 403), ("care_team", 200), ("other_counselor", 404), ("foreign_supervisor", 404)],
)
def test_who_sees_the_suggestion(people, who, code):
    response = people[who].get(f"/api/v1/patients/{people['a'].id}/suggestion/")
    assert response.status_code == code
    if code == 200:
        body = response.json()
        assert body["suggested_stage"] is None
        assert body["confirm_with"] == f"/api/v1/patients/{people['a'].id}/change/"


def test_the_monitoring_caseload_shows_only_patients_in_reach(people):
    write_plan(people)
    MutualHelpMeeting.objects.create(
        enrollment=people["a"],
        fellowship="aa",
        format="online",
        attended_on=date(2026, 6, 2),
        logged_at=NOON,
    )
    rows = people["care_team"].get("/api/v1/dashboard/monitoring/").json()["results"]
    assert [r["patient"] for r in rows] == [people["a"].id]
    assert rows[0]["meetings_this_week"] == 1
    assert rows[0]["has_plan"] is True
    assert rows[0]["active_goals"] == 1
    assert people["owner"].get("/api/v1/dashboard/monitoring/").status_code == 403
    supervisor_rows = people["supervisor"].get("/api/v1/dashboard/monitoring/").json()
    assert {r["patient"] for r in supervisor_rows["results"]} == {people["a"].id, people["b"].id}


# --- meetings ---------------------------------------------------------------------------


def test_patients_log_meetings_and_staff_read_them(people):
    owner = people["owner"]
    logged = owner.post(
        "/api/v1/meetings/",
        {"fellowship": "smart_recovery", "format": "online", "attended_on": "2026-06-02"},
    )
    assert logged.status_code == 201, logged.content
    meeting_id = logged.json()["id"]
    assert people["care_team"].post("/api/v1/meetings/", {}).status_code == 403
    seen = people["care_team"].get(f"/api/v1/meetings/?patient={people['a'].id}").json()
    assert [m["id"] for m in seen["results"]] == [meeting_id]
    assert people["other_counselor"].get("/api/v1/meetings/").json()["results"] == []
    assert people["other_patient"].get(f"/api/v1/meetings/{meeting_id}/").status_code == 404
    weeks = owner.get("/api/v1/meetings/weekly/").json()["weeks"]
    assert weeks[0] == {"week_start": "2026-06-01", "meetings": 1, "online": 1}
    staff_weeks = people["care_team"].get(f"/api/v1/meetings/weekly/?patient={people['a'].id}")
    assert staff_weeks.json()["weeks"][0]["meetings"] == 1
    assert "patient" in fields_of(people["care_team"].get("/api/v1/meetings/weekly/"))
    assert people["care_team"].delete(f"/api/v1/meetings/{meeting_id}/").status_code == 403
    assert people["other_patient"].delete(f"/api/v1/meetings/{meeting_id}/").status_code == 404
    assert owner.delete(f"/api/v1/meetings/{meeting_id}/").status_code == 204
    assert not MutualHelpMeeting.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fellowship": "aa", "format": "zoom", "attended_on": "2026-06-02"}, "format"),
        (
            {"fellowship": "other", "format": "online", "attended_on": "2026-06-02"},
            "fellowship_other",
        ),
        ({"fellowship": "aa", "format": "online", "attended_on": "2026-06-09"}, "attended_on"),
        ({"fellowship": "aa", "format": "online", "attended_on": "yesterday"}, "attended_on"),
        ({"fellowship": "aa", "format": "online"}, "attended_on"),
        (
            {"fellowship": "aa", "format": "online", "attended_on": "2026-06-02", "patient": 1},
            "patient",
        ),
    ],
)
def test_a_bad_meeting_is_a_400(people, body, field):
    assert field in fields_of(people["owner"].post("/api/v1/meetings/", body, format="json"))
    assert not MutualHelpMeeting.objects.exists()


def test_a_meeting_with_several_problems_names_them_all_in_one_answer(people):
    response = people["owner"].post(
        "/api/v1/meetings/",
        {
            "fellowship": "aa",
            "fellowship_other": "Cocaine Anonymous",  # the service's rule: only for 'other'
            "format": "zoom",  # the field's own choices
            "attended_on": "2026-06-09",  # the service's rule: not in the future
        },
        format="json",
    )
    assert set(fields_of(response)) == {"fellowship_other", "format", "attended_on"}
    assert not MutualHelpMeeting.objects.exists()


# --- screens ----------------------------------------------------------------------------


def screen_body(people: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body = {
        "patient": people["a"].id,
        "collected_on": "2026-06-03",
        "method": "urine",
        "observed": True,
        "results": [
            {"substance": "fentanyl", "result": "positive"},
            {"substance": "cocaine", "result": "negative"},
        ],
        "note": "Patient disputes the result",
    }
    body.update(overrides)
    return body


def test_a_positive_screen_is_recorded_flagged_and_shown_to_the_patient(people):
    recorded = people["care_team"].post("/api/v1/screens/", screen_body(people), format="json")
    assert recorded.status_code == 201, recorded.content
    assert recorded.json()["outcome"] == "positive"
    assert recorded.json()["flags"] == [FlagKind.POSITIVE_SCREEN]
    assert Flag.objects.filter(kind=FlagKind.POSITIVE_SCREEN, enrollment=people["a"]).exists()
    mine = people["owner"].get("/api/v1/screens/").json()["results"]
    assert [s["outcome"] for s in mine] == ["positive"]
    assert "note" not in mine[0]
    assert people["owner"].get(f"/api/v1/screens/{mine[0]['id']}/").status_code == 200
    assert people["other_patient"].get(f"/api/v1/screens/{mine[0]['id']}/").status_code == 404
    staff = people["care_team"].get(f"/api/v1/screens/?outcome=positive&patient={people['a'].id}")
    assert staff.json()["results"][0]["note"] == "Patient disputes the result"


@pytest.mark.parametrize(("who", "code"), [("owner", 403), ("other_counselor", 404)])
def test_who_cannot_record_a_screen(people, who, code):
    response = people[who].post("/api/v1/screens/", screen_body(people), format="json")
    assert response.status_code == code
    assert not DrugScreen.objects.exists()
    assert not Flag.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"method": "hair"}, "method"),
        ({"results": [{"substance": "fentanyl", "result": "maybe"}]}, "results"),
        ({"results": [{"substance": "sugar", "result": "negative"}]}, "results"),
        ({"results": "negative"}, "results"),
        ({"results": []}, "results"),
        ({"status": "missed"}, "results"),
        ({"collected_on": "2026-06-04"}, "collected_on"),
        ({"observed": "perhaps"}, "observed"),
    ],
)
def test_a_bad_screen_is_a_400_and_flags_nothing(people, overrides, field):
    response = people["care_team"].post(
        "/api/v1/screens/", screen_body(people, **overrides), format="json"
    )
    fields = fields_of(response)
    assert any(key == field or key.startswith(f"{field}.") for key in fields), fields
    assert not DrugScreen.objects.exists()
    assert not Flag.objects.exists()


def test_a_screen_with_several_problems_names_them_all_in_one_answer(people):
    body = screen_body(
        people,
        method="hair",  # the field's own choices
        collected_on="2026-06-04",  # the service's rule: not in the future
        observed=None,  # the service's rule: say for a completed screen
        results=[
            {"substance": "fentanyl", "result": "negative"},
            {"substance": "fentanyl", "result": "negative"},  # the service's: once each
        ],
    )
    response = people["care_team"].post("/api/v1/screens/", body, format="json")
    assert set(fields_of(response)) == {"method", "collected_on", "observed", "results"}
    assert not DrugScreen.objects.exists()


def test_a_screen_for_a_discharged_patient_names_it_with_the_rest(people):
    discharged = people["care_team"].post(
        f"/api/v1/patients/{people['a'].id}/discharge/", {"reason": "completed"}, format="json"
    )
    assert discharged.status_code == 200, discharged.content
    response = people["care_team"].post(
        "/api/v1/screens/", screen_body(people, method="telepathy"), format="json"
    )
    assert set(fields_of(response)) == {"patient", "method"}
    assert not DrugScreen.objects.exists()


def test_a_missed_screen_is_flagged(people):
    body = screen_body(people, status="missed", observed=None, results=[])
    response = people["care_team"].post("/api/v1/screens/", body, format="json")
    assert response.status_code == 201
    assert response.json()["flags"] == [FlagKind.MISSED_SCREEN]


# --- medications ------------------------------------------------------------------------


def test_medications_adherence_and_reminders(people):
    added = people["care_team"].post(
        "/api/v1/medications/",
        {
            "patient": people["a"].id,
            "name": "buprenorphine/naloxone",
            "dose": "8 mg/2 mg daily",
            "start_date": "2026-05-20",
        },
        format="json",
    )
    assert added.status_code == 201, added.content
    medication = added.json()
    assert medication["category"] == "moud"
    assert medication["is_current"] is True
    assert people["owner"].post("/api/v1/medications/", {}).status_code == 403
    assert (
        people["other_counselor"].get(f"/api/v1/medications/{medication['id']}/").status_code == 404
    )
    url = f"/api/v1/medications/{medication['id']}/"
    assert people["owner"].patch(url, {"reminder_time": "08:30"}).status_code == 200
    assert "dose" in fields_of(people["owner"].patch(url, {"dose": "16 mg"}))
    assert "end_date" in fields_of(people["care_team"].patch(url, {"end_date": "2026-05-01"}))
    assert "start_date" in fields_of(people["care_team"].patch(url, {"start_date": "2026-05-01"}))
    assert Medication.objects.get().reminder_time.isoformat() == "08:30:00"

    # The check-in now asks about medication; its answer is the adherence.
    checkin = people["owner"].post(
        "/api/v1/checkins/",
        {
            "id": str(uuid.uuid4()),
            "mood": 4,
            "craving": 1,
            "used_substance": False,
            "medication_taken": False,
            "device_time": NOON.isoformat(),
            "device_timezone": "America/New_York",
        },
        format="json",
    )
    assert checkin.status_code == 201, checkin.content
    assert CheckIn.objects.get().medication_taken is False
    adherence = people["owner"].get("/api/v1/medications/adherence/?days=7").json()
    assert adherence["missed"] == 1
    assert adherence["days"][0] == {"date": "2026-06-03", "status": "missed"}
    staff = people["care_team"].get(f"/api/v1/medications/adherence/?patient={people['a'].id}")
    assert staff.status_code == 200
    assert "days" in fields_of(people["owner"].get("/api/v1/medications/adherence/?days=400"))
    assert (
        people["other_counselor"]
        .get(f"/api/v1/medications/adherence/?patient={people['a'].id}")
        .status_code
        == 404
    )


def test_a_medication_with_several_problems_names_them_all_in_one_answer(people):
    response = people["care_team"].post(
        "/api/v1/medications/",
        {
            "patient": people["a"].id,
            "name": "naltrexone",
            "dose": "x" * 500,  # the field's own limit
            "start_date": "2028-01-01",  # the service's rule: at most a year ahead
            "end_date": "2027-01-01",  # the service's rule: not before the start
            "category": "vitamin",
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(fields_of(response)) == {"dose", "start_date", "end_date", "category"}


def test_a_medication_change_with_several_problems_names_them_all_in_one_answer(people):
    added = people["care_team"].post(
        "/api/v1/medications/",
        {"patient": people["a"].id, "name": "naltrexone", "start_date": "2026-05-20"},
        format="json",
    )
    url = f"/api/v1/medications/{added.json()['id']}/"
    staff = people["care_team"].patch(
        url, {"end_date": "2026-05-01", "category": "vitamin", "name": " "}, format="json"
    )
    # The field's own choices; the service's rules: end on or after the start, a name.
    assert set(fields_of(staff)) == {"end_date", "category", "name"}
    patient = people["owner"].patch(url, {"dose": "16 mg", "reminder_time": "25:00"})
    # The service's rule: the patient sets only the reminder; the field's own format.
    assert set(fields_of(patient)) == {"dose", "reminder_time"}
    assert Medication.objects.get().end_date is None


def test_program_settings_are_read_by_staff_and_set_by_supervisors(people):
    assert people["care_team"].get("/api/v1/monitoring-settings/").json()["missed_dose_days"] == 2
    body = {
        "missed_dose_days": 3,
        "unreported_dose_counts_as_missed": True,
        "suggestion_window_days": 28,
        "suggestion_min_checkin_adherence": "0.75",
        "step_up_use_events": 3,
    }
    assert people["care_team"].put("/api/v1/monitoring-settings/", body).status_code == 403
    assert people["owner"].get("/api/v1/monitoring-settings/").status_code == 403
    saved = people["supervisor"].put("/api/v1/monitoring-settings/", body, format="json")
    assert saved.status_code == 200, saved.content
    assert people["care_team"].get("/api/v1/monitoring-settings/").json()["missed_dose_days"] == 3
    bad = people["supervisor"].put(
        "/api/v1/monitoring-settings/", {**body, "missed_dose_days": 0}, format="json"
    )
    assert "missed_dose_days" in fields_of(bad)
    foreign = people["foreign_supervisor"].get("/api/v1/monitoring-settings/").json()
    assert foreign["missed_dose_days"] == 2  # their own program's defaults


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/meetings/?patient=1000000000000000000000000000000",
        "/api/v1/screens/?patient=-1",
        "/api/v1/medications/?patient=abc",
        "/api/v1/plans/?patient=1e40",
        "/api/v1/meetings/weekly/?patient=%C2%B2",
        "/api/v1/medications/adherence/?patient=1&days=%C2%B2",
    ],
)
def test_absurd_query_parameters_are_a_400(people, url):
    assert "error" in people["care_team"].get(url).json()
    assert people["care_team"].get(url).status_code == 400


def test_staff_reads_of_plan_and_monitoring_records_are_audited(people):
    from recovery.models import AuditEntry

    plan = write_plan(people)
    patient = people["a"].id
    staff = people["care_team"]
    people["owner"].post(f"/api/v1/plans/{plan['id']}/comments/", {"agrees": True})
    for url in (
        f"/api/v1/plans/{plan['id']}/",
        f"/api/v1/plans/{plan['id']}/comments/",
        f"/api/v1/patients/{patient}/suggestion/",
        f"/api/v1/meetings/weekly/?patient={patient}",
        f"/api/v1/medications/adherence/?patient={patient}",
    ):
        before = AuditEntry.objects.filter(enrollment_id=patient).count()
        assert staff.get(url).status_code == 200
        assert AuditEntry.objects.filter(enrollment_id=patient).count() > before, url
