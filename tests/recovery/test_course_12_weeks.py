"""A 12-week course for one patient, driven through the API with time travel.

Monday 1 June 2026, New York. The counselor enrolls the patient, writes the plan with
them and puts naltrexone on record. Every evening the patient checks in (not on Sundays:
86% adherence) and says whether they took their dose; they log mutual-help meetings
(once a week at first, then twice) and practise coping skills three days a week. The
counselor records a urine screen every Wednesday; one on Thursday 9 July is positive.
The missed-dose sweep runs every evening.

What must happen: two missed doses in a row (15 and 16 June) raise one flag; the positive
screen raises one; the plan's progress follows the record; early recovery is suggested on
the 28th day in engagement and not a day before; after the counselor confirms it,
maintenance is held back by the positive screen until it leaves the 4-week window.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from notifications.models import Notification
from recovery.models import Enrollment, Flag, FlagKind, Stage, User
from recovery.notification_kinds import NotificationKind
from recovery.services.medications import (
    medication_adherence_sweep,
    medication_reminders_top_up,
)
from recovery.services.plan import plan_mark_review_due
from tests.conftest import client_for
from tests.factories import CounselorFactory, ProgramFactory, SupervisorFactory

pytestmark = pytest.mark.django_db

START = date(2026, 6, 1)  # a Monday; no daylight-saving change in the 12 weeks
MORNING = 13  # 09:00 in New York, in UTC hours
EVENING = 23  # 19:00 in New York
MISSED_DOSE_DAYS = (14, 15)  # 15 and 16 June
POSITIVE_SCREEN_DAY = 38  # Thursday 9 July


def at(day: int, hour: int) -> datetime:
    moment = START + timedelta(days=day)
    return datetime(moment.year, moment.month, moment.day, hour, 0, tzinfo=UTC)


def ok(response: Any, code: int = 200) -> Any:
    assert response.status_code == code, response.content
    return response.json()


class Course:
    def __init__(self, clock: Any) -> None:
        self.clock = clock
        program = ProgramFactory(timezone="America/New_York", levels_of_care=["1", "2.1", "2.5"])
        self.counselor: User = CounselorFactory(program=program)
        self.supervisor: User = SupervisorFactory(program=program)
        self.patient_user: User | None = None
        self.patient_id = 0
        self.suggested: dict[int, str | None] = {}

    def go(self, day: int, hour: int) -> None:
        self.clock.move_to(at(day, hour), tick=False)

    def staff(self) -> APIClient:
        return client_for(self.counselor)  # a fresh 15-minute token at the current time

    def patient(self) -> APIClient:
        assert self.patient_user is not None
        return client_for(self.patient_user)

    def enrollment(self) -> Enrollment:
        return Enrollment.objects.get(id=self.patient_id)


@pytest.fixture
def course(time_machine: Any) -> Course:
    time_machine.move_to(at(0, MORNING), tick=False)
    return Course(time_machine)


def start(course: Course) -> dict[str, Any]:
    """Day 0: enrollment, the plan, the patient's agreement, the medication."""
    course.go(0, MORNING)
    ok(
        client_for(course.supervisor).put(
            "/api/v1/monitoring-settings/",
            {
                "missed_dose_days": 2,
                "unreported_dose_counts_as_missed": False,
                "suggestion_window_days": 28,
                "suggestion_min_checkin_adherence": "0.80",
                "step_up_use_events": 3,
            },
            format="json",
        )
    )
    enrolled = ok(
        course.staff().post(
            "/api/v1/patients/", {"first_name": "Sam", "timezone": "America/New_York"}
        ),
        201,
    )
    course.patient_id = enrolled["patient"]["id"]
    app = APIClient()
    ok(app.post("/api/v1/auth/enrollment-code/", {"code": enrolled["enrollment_code"]}), 201)
    course.patient_user = course.enrollment().patient

    def goal(domain: str, metric: str, target: str, text: str) -> dict[str, str]:
        return {
            "domain": domain,
            "description": text,
            "metric": metric,
            "target_value": target,
            "due_date": "2026-08-23",
        }

    plan = ok(
        course.staff().post(
            "/api/v1/plans/",
            {
                "patient": course.patient_id,
                "summary": "Twelve weeks of IOP: abstinence, routine, support.",
                "goals": [
                    goal("peer_support", "mutual_help_meetings_per_week", "2", "Two meetings"),
                    goal("coping_skills", "coping_practice_days_per_week", "3", "Practise"),
                    goal("substance_use", "checkin_adherence", "0.8", "Check in daily"),
                    goal("substance_use", "abstinent_days", "60", "Sixty days"),
                    goal("housing", "manual", "1", "Sign a lease on stable housing"),
                ],
            },
            format="json",
        ),
        201,
    )
    ok(
        course.patient().post(
            f"/api/v1/plans/{plan['id']}/comments/",
            {"body": "Meetings near work, please.", "agrees": True},
            format="json",
        ),
        201,
    )
    medication = ok(
        course.staff().post(
            "/api/v1/medications/",
            {
                "patient": course.patient_id,
                "name": "Naltrexone",
                "dose": "50 mg daily",
                "start_date": "2026-06-01",
            },
            format="json",
        ),
        201,
    )
    assert medication["category"] == "moud"
    ok(
        course.patient().patch(
            f"/api/v1/medications/{medication['id']}/", {"reminder_time": "08:00"}, format="json"
        )
    )
    return plan


def evening(course: Course, day: int, exercise_id: int) -> None:
    """What happens on one evening of the course, all through the API."""
    course.go(day, EVENING)
    today = START + timedelta(days=day)
    weekday = today.weekday()
    if weekday != 6:  # no check-in on Sundays
        ok(
            course.patient().post(
                "/api/v1/checkins/",
                {
                    "id": str(uuid.uuid4()),
                    "mood": 4,
                    "craving": 2,
                    "used_substance": False,
                    "medication_taken": day not in MISSED_DOSE_DAYS,
                    "device_time": at(day, EVENING).isoformat(),
                    "device_timezone": "America/New_York",
                },
                format="json",
            ),
            201,
        )
    if weekday == 1 or (weekday == 3 and day >= 14):
        ok(
            course.patient().post(
                "/api/v1/meetings/",
                {
                    "fellowship": "aa" if weekday == 1 else "smart_recovery",
                    "format": "in_person" if weekday == 1 else "online",
                    "attended_on": today.isoformat(),
                },
                format="json",
            ),
            201,
        )
    if weekday in (0, 2, 4):
        ok(
            course.patient().post(
                "/api/v1/practices/",
                {
                    "exercise": exercise_id,
                    "craving_before": 5,
                    "craving_after": 2,
                    "helpfulness": 4,
                },
                format="json",
            ),
            201,
        )
    if weekday == 2 or day == POSITIVE_SCREEN_DAY:
        positive = day == POSITIVE_SCREEN_DAY
        recorded = ok(
            course.staff().post(
                "/api/v1/screens/",
                {
                    "patient": course.patient_id,
                    "collected_on": today.isoformat(),
                    "method": "urine",
                    "observed": True,
                    "results": [
                        {"substance": "opiates", "result": "negative"},
                        {"substance": "cocaine", "result": "positive" if positive else "negative"},
                    ],
                },
                format="json",
            ),
            201,
        )
        assert recorded["flags"] == (["positive_screen"] if positive else [])
    medication_adherence_sweep()
    medication_reminders_top_up()


def suggestion(course: Course) -> dict[str, Any]:
    return dict(ok(course.staff().get(f"/api/v1/patients/{course.patient_id}/suggestion/")))


def confirm(course: Course, stage: str, plan_id: int) -> None:
    ok(
        course.staff().post(
            f"/api/v1/patients/{course.patient_id}/change/",
            {"stage": stage, "reason": "Suggested and agreed in session."},
            format="json",
        )
    )
    # The stage change marks the plan for review (enrollment_change calls this hook).
    plan_mark_review_due(enrollment=course.enrollment())
    plan = ok(course.staff().get(f"/api/v1/plans/{plan_id}/"))
    assert plan["review_due"] is True
    ok(
        course.staff().post(
            f"/api/v1/plans/{plan_id}/review/", {"note": "Goals kept."}, format="json"
        ),
        201,
    )


def flags(course: Course, kind: str) -> list[dict[str, Any]]:
    body = ok(course.staff().get(f"/api/v1/flags/?kind={kind}&patient={course.patient_id}"))
    return list(body["results"])


def goals_by_metric(course: Course, plan_id: int) -> dict[str, dict[str, Any]]:
    plan = ok(course.patient().get(f"/api/v1/plans/{plan_id}/"))
    return {g["metric"]: g for g in plan["goals"] if g["status"] != "revised"}


def test_a_twelve_week_course(course: Course) -> None:
    plan = start(course)
    plan_id = plan["id"]
    exercise_id = ok(course.patient().get("/api/v1/exercises/"))["results"][0]["id"]
    confirmed: dict[str, int] = {}

    for day in range(84):
        evening(course, day, exercise_id)

        # Missed doses: flagged on the second missed day in a row, once.
        missed_medication = flags(course, FlagKind.MISSED_MEDICATION)
        if day < MISSED_DOSE_DAYS[1]:
            assert missed_medication == [], day
        else:
            assert [f["window_key"] for f in missed_medication] == ["doses:2026-06-15"], day

        # Peer-support progress against the plan, at the end of weeks 2 and 3.
        if day in (14, 21):
            meetings = goals_by_metric(course, plan_id)["mutual_help_meetings_per_week"]
            assert meetings["progress"]["current_value"] == (1.0 if day == 14 else 2.0)
            assert meetings["progress"]["target_met"] is (day == 21)

        # Stage suggestions: asked every evening, confirmed the day they appear.
        advice = suggestion(course)
        course.suggested[day] = advice["suggested_stage"]
        assert advice["suggested_level_of_care"] is None, (day, advice)
        if advice["suggested_stage"] is not None:
            confirmed[advice["suggested_stage"]] = day
            confirm(course, advice["suggested_stage"], plan_id)
        if day == 56:  # 4 weeks in early recovery, but the positive screen is recent
            assert any("positive screens" in r for r in advice["reasons"]), advice

    # Early recovery on the 28th day in engagement, not before; maintenance once the
    # positive screen of day 38 left the 28-day window (day 67), not at day 56.
    assert confirmed == {Stage.EARLY_RECOVERY: 28, Stage.MAINTENANCE: 67}
    assert [day for day, stage in course.suggested.items() if stage] == [28, 67]
    assert course.enrollment().stage == Stage.MAINTENANCE
    history = ok(course.staff().get(f"/api/v1/patients/{course.patient_id}/history/"))
    stages = [h["new_value"] for h in history["results"] if h["field"] == "stage"]
    assert stages == ["engagement", "early_recovery", "maintenance"]

    # The positive screen: flagged once, and the patient sees the result.
    (positive,) = flags(course, FlagKind.POSITIVE_SCREEN)
    assert positive["severity_label"] == "Urgent"
    mine = ok(course.patient().get("/api/v1/screens/"))["results"]
    assert len(mine) == 13  # 12 Wednesdays and the Thursday
    assert [s["collected_on"] for s in mine if s["outcome"] == "positive"] == ["2026-07-09"]
    assert (
        Flag.objects.filter(kind__in=[FlagKind.POSITIVE_SCREEN, FlagKind.MISSED_SCREEN]).count()
        == 1
    )

    # Medication adherence over the last 28 days and over the whole course.
    course.go(83, EVENING + 0)  # still Sunday 23 August, after the sweep
    recent = ok(course.patient().get("/api/v1/medications/adherence/?days=28"))
    assert (recent["taken"], recent["missed"], recent["unreported"]) == (24, 0, 3)
    whole = ok(
        course.staff().get(f"/api/v1/medications/adherence/?patient={course.patient_id}&days=84")
    )
    assert (whole["taken"], whole["missed"], whole["unreported"]) == (70, 2, 11)
    assert whole["reported_adherence"] == round(70 / 72, 3)
    assert whole["days"][0] == {"date": "2026-08-23", "status": "pending"}  # a Sunday

    # Meetings per week, as the patient and the caseload see them.
    weeks = ok(course.patient().get("/api/v1/meetings/weekly/"))["weeks"]
    assert [w["meetings"] for w in weeks] == [2] * 10 + [1, 1]
    row = ok(course.staff().get("/api/v1/dashboard/monitoring/"))["results"][0]
    assert row["meetings_last_week"] == 2
    assert row["positive_screens_28d"] == 0
    assert row["plan_review_due"] is False

    # The plan's progress, computed from the record.
    goals = goals_by_metric(course, plan_id)
    assert goals["mutual_help_meetings_per_week"]["progress"]["target_met"] is True
    assert goals["coping_practice_days_per_week"]["progress"]["current_value"] == 3.0
    adherence = goals["checkin_adherence"]["progress"]
    assert adherence["current_value"] == round(24 / 28, 3)
    assert adherence["target_met"] is True
    abstinence = goals["abstinent_days"]["progress"]
    assert abstinence["current_value"] == 45.0  # since the positive screen of 9 July
    assert abstinence["target_met"] is False
    housing = goals["manual"]
    ok(
        course.patient().post(
            f"/api/v1/goals/{housing['id']}/progress/", {"value": "1", "note": "Lease signed"}
        ),
        201,
    )
    met = ok(
        course.staff().post(
            f"/api/v1/goals/{housing['id']}/status/", {"status": "met", "note": "Moved in"}
        )
    )
    assert met["progress"]["target_met"] is True
    assert [h["to_status"] for h in met["history"]] == ["active", "met"]

    # Optional reminders were queued every day at 08:00 local, with nothing clinical.
    reminders = Notification.objects.filter(kind=NotificationKind.MEDICATION_REMINDER)
    assert reminders.count() == 84
    assert {r.due_at.astimezone(UTC).hour for r in reminders} == {12}  # 08:00 EDT
    assert not any("altrexone" in r.title + r.body + str(r.payload) for r in reminders)
