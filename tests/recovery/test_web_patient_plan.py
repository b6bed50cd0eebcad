"""The treatment plan from the patient page: a first goal writes the plan, a second is
added to it, a goal is marked met; each checked against what the API then returns, with
the API's rules (field errors, nothing saved) and reach (404)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from recovery.dates import enrollment_today
from recovery.models import Enrollment, PlanGoal, TreatmentPlan
from tests.conftest import client_for
from tests.factories import CounselorFactory

pytestmark = pytest.mark.django_db


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def goal_form(enrollment: Enrollment, **changes: Any) -> dict[str, Any]:
    return {
        "description": "Go to two meetings a week",
        "domain": "peer_support",
        "metric": "mutual_help_meetings_per_week",
        "target_value": "2",
        "due_date": (enrollment_today(enrollment) + timedelta(days=30)).isoformat(),
        "instrument": "",
    } | changes


def plan_from_api(counselor: Any, enrollment: Enrollment) -> dict[str, Any]:
    api = client_for(counselor)
    [summary] = api.get("/api/v1/plans/", {"patient": enrollment.id}).json()["results"]
    return dict(api.get(f"/api/v1/plans/{summary['id']}/").json())


def test_goals_are_added_and_marked_from_the_page(counselor: Any, enrollment: Enrollment) -> None:
    page = browser(counselor)
    url = f"/dashboard/patients/{enrollment.id}/"
    assert "No treatment plan yet" in page.get(url).content.decode()

    first = page.post(f"{url}goals/", goal_form(enrollment))
    assert first.status_code == 302
    assert first["Location"] == f"{url}#plan"
    second = page.post(
        f"{url}goals/",
        goal_form(
            enrollment,
            description="Practise a coping skill most days",
            domain="coping_skills",
            metric="coping_practice_days_per_week",
            target_value="5",
        ),
    )
    assert second.status_code == 302
    goals = plan_from_api(counselor, enrollment)["goals"]
    assert [(g["description"], g["status"]) for g in goals] == [
        ("Go to two meetings a week", "active"),
        ("Practise a coping skill most days", "active"),
    ]

    marked = page.post(f"{url}goals/{goals[0]['id']}/status/", {"status": "met"})
    assert marked.status_code == 302
    after = {g["id"]: g["status"] for g in plan_from_api(counselor, enrollment)["goals"]}
    assert after[goals[0]["id"]] == "met"
    assert "Goal marked met." in page.get(url).content.decode()


def test_a_bad_goal_shows_its_field_errors_and_saves_nothing(
    counselor: Any, enrollment: Enrollment
) -> None:
    yesterday = (enrollment_today(enrollment) - timedelta(days=1)).isoformat()
    refused = browser(counselor).post(
        f"/dashboard/patients/{enrollment.id}/goals/",
        goal_form(enrollment, target_value="50", due_date=yesterday, description="  "),
    )
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'id="goal-target-error">At most 21 for this metric.' in html
    assert 'id="goal-due-error">Cannot be in the past.' in html
    assert 'id="goal-description-error">' in html
    assert not TreatmentPlan.objects.filter(enrollment=enrollment).exists()


def test_off_the_caseload_is_404_and_changes_nothing(
    counselor: Any, enrollment: Enrollment
) -> None:
    page = browser(counselor)
    url = f"/dashboard/patients/{enrollment.id}/"
    assert page.post(f"{url}goals/", goal_form(enrollment)).status_code == 302
    goal = PlanGoal.objects.get()
    outsider = browser(CounselorFactory(program=enrollment.program))
    assert outsider.post(f"{url}goals/", goal_form(enrollment)).status_code == 404
    assert outsider.post(f"{url}goals/{goal.id}/status/", {"status": "met"}).status_code == 404
    goal.refresh_from_db()
    assert goal.status == "active"
    assert PlanGoal.objects.count() == 1


def test_a_status_the_goal_cannot_take_is_refused(counselor: Any, enrollment: Enrollment) -> None:
    page = browser(counselor)
    url = f"/dashboard/patients/{enrollment.id}/"
    page.post(f"{url}goals/", goal_form(enrollment))
    goal = PlanGoal.objects.get()
    refused = page.post(f"{url}goals/{goal.id}/status/", {"status": "active"})
    assert refused.status_code == 400
    assert "Nothing was saved." in refused.content.decode()
    goal.refresh_from_db()
    assert goal.status == "active"
