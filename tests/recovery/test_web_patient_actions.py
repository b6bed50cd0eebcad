"""The patient page: what it shows (everything an entry holds, empty charts, attendance
from the start) and what a counselor does from it, each checked against what the API
then returns, on the API's access rules, validation and audit."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages.storage.cookie import CookieStorage, MessageSerializer
from django.core import signing
from django.test import Client
from django.utils import timezone

from recovery.dates import enrollment_today
from recovery.models import (
    Attendance,
    AuditEntry,
    CheckInSchedule,
    DrugScreen,
    Enrollment,
    Exercise,
    ExerciseAssignment,
    Flag,
    FlagKind,
    Medication,
)
from recovery.selectors.suggestion import Suggestion
from tests.conftest import client_for
from tests.factories import CounselorFactory, EnrollmentFactory, SessionFactory

pytestmark = pytest.mark.django_db


def browser(user: Any, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def page_url(enrollment: Enrollment) -> str:
    return f"/dashboard/patients/{enrollment.id}/"


def an_exercise() -> Exercise:
    exercise = Exercise.objects.filter(program__isnull=True).order_by("id").first()
    assert exercise is not None
    return exercise


def schedule_form(**changes: Any) -> dict[str, Any]:
    return {
        "opens_at": "18:00",
        "due_by": "21:30",
        "days_of_week": ["1", "3", "5"],
        "grace_minutes": "45",
    } | changes


def screen_form(enrollment: Enrollment, **changes: Any) -> dict[str, Any]:
    return {
        "collected_on": enrollment_today(enrollment).isoformat(),
        "method": "urine",
        "status": "completed",
        "observed": "yes",
        "result_cocaine": "positive",
        "result_opiates": "negative",
        "note": "Collected at group",
    } | changes


def cookie_messages(response: Any) -> list[str]:
    """The messages the browser carries in its (signed, readable) messages cookie."""
    morsel = response.cookies.get(CookieStorage.cookie_name)
    assert morsel is not None, "no messages cookie"
    signer = signing.get_cookie_signer(salt=CookieStorage.key_salt)
    # django-stubs wants a JSONSerializer subclass; Django's own MessageSerializer is not one.
    held = signer.unsign_object(morsel.value, serializer=MessageSerializer)  # type: ignore[arg-type]
    return [str(m) for m in held]


# --- what the page shows ----------------------------------------------------------------


def test_the_timeline_shows_everything_a_checkin_holds_and_the_read_is_audited(
    counselor: Any, enrollment: Enrollment
) -> None:
    sent = client_for(enrollment.patient).post(
        "/api/v1/checkins/",
        {
            "id": str(uuid.uuid4()),
            "mood": 2,
            "craving": 6,
            "used_substance": True,
            "substances": ["alcohol", "cannabis"],
            "triggers": ["stress", "other"],
            "trigger_other": "payday",
            "hours_slept": 5.5,
            "self_harm_thoughts": False,
            "note": "Hard day at work",
            "device_time": timezone.now().isoformat(),
            "device_timezone": enrollment.timezone,
        },
        format="json",
    )
    assert sent.status_code == 201, sent.content

    html = browser(counselor).get(page_url(enrollment)).content.decode()

    assert "Mood 2/5, craving 6/10" in html
    assert "<dt>Thoughts of self-harm</dt><dd>no</dd>" in html
    assert "<dt>Substance use</dt><dd>yes</dd>" in html
    assert "<dt>Substances</dt><dd>Alcohol, Cannabis (THC)</dd>" in html
    assert "<dt>Triggers</dt><dd>Stress, other: payday</dd>" in html
    assert "<dt>Hours slept</dt><dd>5.5</dd>" in html
    assert "Hard day at work" in html
    # The note is encrypted at rest, and the read that showed it is on the audit trail.
    assert AuditEntry.objects.filter(
        actor=counselor, enrollment_id=enrollment.id, action=AuditEntry.Action.READ
    ).exists()
    api = client_for(counselor).get(f"/api/v1/patients/{enrollment.id}/timeline/").json()
    [entry] = [item for item in api["results"] if item["type"] == "checkin"]
    assert entry["data"]["note"] == "Hard day at work"
    assert entry["data"]["substances"] == ["alcohol", "cannabis"]


def test_the_timeline_shows_screens_meetings_questionnaires_and_urge_notes(
    counselor: Any, enrollment: Enrollment
) -> None:
    patient = client_for(enrollment.patient)
    today = enrollment_today(enrollment).isoformat()
    assert (
        patient.post(
            "/api/v1/meetings/",
            {"fellowship": "aa", "format": "in_person", "attended_on": today},
        ).status_code
        == 201
    )
    assert (
        patient.post(
            "/api/v1/urges/", {"intensity": 7, "note": "Passed the bar"}, format="json"
        ).status_code
        == 201
    )
    answers = {str(i): "1" for i in range(1, 9)} | {"9": "0"}
    assert (
        patient.post(
            "/api/v1/questionnaire-responses/",
            {
                "id": str(uuid.uuid4()),
                "instrument": "phq9",
                "answers": answers,
                "device_time": timezone.now().isoformat(),
                "device_timezone": enrollment.timezone,
            },
            format="json",
        ).status_code
        == 201
    )
    recorded = client_for(counselor).post(
        "/api/v1/screens/",
        {
            "patient": enrollment.id,
            "collected_on": today,
            "method": "oral_fluid",
            "observed": True,
            "results": [{"substance": "fentanyl", "result": "negative"}],
        },
        format="json",
    )
    assert recorded.status_code == 201, recorded.content

    html = browser(counselor).get(page_url(enrollment)).content.decode()

    assert "Mutual-help meeting: Alcoholics Anonymous" in html
    assert "Drug screen: Negative" in html
    assert "<dt>Results</dt><dd>Fentanyl negative</dd>" in html
    assert "<dt>Method</dt><dd>Oral fluid</dd>" in html
    assert "Questionnaire: PHQ9" in html
    assert "Score 8" in html
    assert "Passed the bar" in html


def test_empty_charts_say_no_data_yet(counselor: Any, enrollment: Enrollment) -> None:
    html = browser(counselor).get(page_url(enrollment)).content.decode()
    assert 'class="line-chart"' not in html
    assert html.count("No data yet.") >= 2


def test_attendance_starts_at_enrollment(counselor: Any, enrollment: Enrollment) -> None:
    # Started today: a session three weeks ago, before the start, is no absence, and the
    # weeks before the start are not weeks the requirement was missed.
    earlier: Any = SessionFactory(
        program=enrollment.program, starts_at=timezone.now() - timedelta(days=21)
    )
    Attendance.objects.create(
        session=earlier,
        enrollment=enrollment,
        status="absent",
        minutes_attended=0,
        recorded_at=timezone.now(),
    )
    response = browser(counselor).get(page_url(enrollment))
    html = response.content.decode()
    assert len(response.context["weeks"]) == 1  # this week only
    assert '<span class="count">0</span> absent' in html
    # The API's own summary is unchanged: it counts every session recorded.
    assert dict(response.context["attendance_counts"])["Absent"] == 0


def test_the_start_date_is_the_patients_local_date(counselor: Any) -> None:
    enrollment: Any = EnrollmentFactory(
        program=counselor.program, primary_counselor=counselor, timezone="Pacific/Kiritimati"
    )
    html = browser(counselor).get(page_url(enrollment)).content.decode()
    start = enrollment_today(enrollment)
    assert f'datetime="{start.isoformat()}"' in html


# --- actions -----------------------------------------------------------------------------


def test_assigning_an_exercise_shows_in_the_api_and_is_audited(
    counselor: Any, enrollment: Enrollment
) -> None:
    exercise = an_exercise()
    client = browser(counselor)
    done = client.post(
        f"{page_url(enrollment)}exercises/", {"exercise": exercise.id, "note": "Before group"}
    )
    assert done.status_code == 302
    assert done["Location"] == f"{page_url(enrollment)}#exercises"
    seen = client_for(counselor).get("/api/v1/assignments/", {"patient": enrollment.id}).json()
    assert [(a["exercise"], a["note"]) for a in seen["results"]] == [(exercise.id, "Before group")]
    assert AuditEntry.objects.filter(
        actor=counselor,
        enrollment_id=enrollment.id,
        action=AuditEntry.Action.UPDATE,  # a POST to the patient's record, as in the API
        resource="dashboard-patient-assign-exercise",
    ).exists()
    assert "Exercise assigned." in client.get(page_url(enrollment)).content.decode()


def test_editing_the_schedule_shows_in_the_api(counselor: Any, enrollment: Enrollment) -> None:
    done = browser(counselor).post(f"{page_url(enrollment)}schedule/", schedule_form())
    assert done.status_code == 302
    schedule = client_for(counselor).get(f"/api/v1/patients/{enrollment.id}/checkin-schedule/")
    body = schedule.json()
    assert (body["opens_at"], body["due_by"]) == ("18:00:00", "21:30:00")
    assert body["days_of_week"] == [1, 3, 5]
    assert (body["grace_minutes"], body["paused"]) == (45, False)


def test_recording_a_screen_shows_in_the_api_and_raises_its_flag(
    counselor: Any, enrollment: Enrollment
) -> None:
    done = browser(counselor).post(f"{page_url(enrollment)}screens/", screen_form(enrollment))
    assert done.status_code == 302
    screens = client_for(counselor).get("/api/v1/screens/", {"patient": enrollment.id}).json()
    [screen] = screens["results"]
    assert screen["outcome"] == "positive"
    assert screen["observed"] is True
    assert {r["substance"]: r["result"] for r in screen["results"]} == {
        "cocaine": "positive",
        "opiates": "negative",
    }
    assert screen["note"] == "Collected at group"
    assert Flag.objects.filter(enrollment=enrollment, kind=FlagKind.POSITIVE_SCREEN).exists()


def test_changing_the_stage_shows_in_the_api(counselor: Any, enrollment: Enrollment) -> None:
    done = browser(counselor).post(
        f"{page_url(enrollment)}care/",
        {"stage": "early_recovery", "level_of_care": enrollment.level_of_care, "reason": "Ready"},
    )
    assert done.status_code == 302
    body = client_for(counselor).get(f"/api/v1/patients/{enrollment.id}/").json()
    assert body["stage"] == "early_recovery"
    history = client_for(counselor).get(f"/api/v1/patients/{enrollment.id}/history/").json()
    assert [(h["field"], h["new_value"], h["reason"]) for h in history["results"]] == [
        ("stage", "early_recovery", "Ready")
    ]


def test_a_suggestion_is_offered_for_confirmation(
    counselor: Any, enrollment: Enrollment, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = enrollment_today(enrollment)
    suggestion = Suggestion(
        current_stage=enrollment.stage,
        suggested_stage="early_recovery",
        current_level_of_care=enrollment.level_of_care,
        suggested_level_of_care=None,
        reasons=["28 days in engagement with check-ins at 90%"],
        window_from=today - timedelta(days=28),
        window_to=today,
        days_in_stage=28,
        checkin_adherence=0.9,
        use_days=0,
        positive_screens=0,
        missed_screens=0,
    )
    monkeypatch.setattr(
        "recovery.web.patient_forms.care_suggestion", lambda *, enrollment: suggestion
    )
    html = browser(counselor).get(page_url(enrollment)).content.decode()
    assert "The record suggests Early recovery" in html
    assert '<input type="hidden" name="stage" value="early_recovery">' in html
    assert "Confirm the suggestion" in html


def test_adding_and_ending_a_medication_shows_in_the_api(
    counselor: Any, enrollment: Enrollment
) -> None:
    client = browser(counselor)
    start = enrollment_today(enrollment) - timedelta(days=3)
    done = client.post(
        f"{page_url(enrollment)}medications/",
        {
            "name": "Buprenorphine",
            "category": "",
            "dose": "8 mg daily",
            "prescriber": "",
            "start_date": start.isoformat(),
            "end_date": "",
            "reminder_time": "08:30",
        },
    )
    assert done.status_code == 302
    api = client_for(counselor)
    [medication] = api.get("/api/v1/medications/", {"patient": enrollment.id}).json()["results"]
    assert (medication["name"], medication["category"], medication["dose"]) == (
        "Buprenorphine",
        "moud",  # from the name, as the API does
        "8 mg daily",
    )
    assert (medication["reminder_time"], medication["end_date"]) == ("08:30:00", None)

    last = (start + timedelta(days=10)).isoformat()
    ended = client.post(
        f"{page_url(enrollment)}medications/{medication['id']}/end/", {"end_date": last}
    )
    assert ended.status_code == 302
    after = api.get(f"/api/v1/medications/{medication['id']}/").json()
    assert after["end_date"] == last


def test_a_medication_ending_before_it_starts_is_refused(
    counselor: Any, enrollment: Enrollment
) -> None:
    refused = browser(counselor).post(
        f"{page_url(enrollment)}medications/",
        {"name": "Naltrexone", "start_date": "2026-05-10", "end_date": "2026-05-01"},
    )
    assert refused.status_code == 400
    assert 'id="medication-end-error">' in refused.content.decode()
    assert not Medication.objects.filter(enrollment=enrollment).exists()


def test_another_patients_medication_cannot_be_ended_from_this_page(
    counselor: Any, enrollment: Enrollment
) -> None:
    other: Any = EnrollmentFactory(program=enrollment.program, primary_counselor=counselor)
    medication = Medication.objects.create(
        enrollment=other,
        name="Naltrexone",
        category="maud",
        start_date=enrollment_today(other),
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    response = browser(counselor).post(
        f"{page_url(enrollment)}medications/{medication.id}/end/", {"end_date": "2030-01-01"}
    )
    assert response.status_code == 404
    medication.refresh_from_db()
    assert medication.end_date is None


# --- who may, and bad input --------------------------------------------------------------


ACTIONS = ["exercises/", "schedule/", "screens/", "care/", "medications/"]


@pytest.mark.parametrize("action", ACTIONS)
def test_a_counselor_off_the_caseload_gets_404_and_changes_nothing(
    action: str, enrollment: Enrollment
) -> None:
    outsider = CounselorFactory(program=enrollment.program)
    form = (
        {"exercise": an_exercise().id}
        | schedule_form()
        | screen_form(enrollment)
        | {"stage": "early_recovery", "name": "Naltrexone", "start_date": "2026-01-01"}
    )
    assert browser(outsider).post(f"{page_url(enrollment)}{action}", form).status_code == 404
    assert not ExerciseAssignment.objects.filter(enrollment=enrollment).exists()
    assert not CheckInSchedule.objects.filter(enrollment=enrollment, due_by="21:30").exists()
    assert not DrugScreen.objects.filter(enrollment=enrollment).exists()
    assert not Medication.objects.filter(enrollment=enrollment).exists()
    assert Enrollment.objects.get(id=enrollment.id).stage == enrollment.stage


@pytest.mark.parametrize("action", ACTIONS)
def test_patients_get_404(action: str, enrollment: Enrollment) -> None:
    assert browser(enrollment.patient).post(f"{page_url(enrollment)}{action}").status_code == 404


def test_actions_need_the_csrf_token(counselor: Any, enrollment: Enrollment) -> None:
    refused = browser(counselor, csrf=True).post(
        f"{page_url(enrollment)}schedule/", schedule_form()
    )
    assert refused.status_code == 403
    assert not CheckInSchedule.objects.filter(enrollment=enrollment).exists()


def test_a_bad_schedule_shows_its_field_errors_and_saves_nothing(
    counselor: Any, enrollment: Enrollment
) -> None:
    refused = browser(counselor).post(
        f"{page_url(enrollment)}schedule/",
        schedule_form(due_by="18:00", days_of_week=[], grace_minutes="9999"),
    )
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'id="schedule-due-error">Must differ from opens_at.' in html
    assert 'id="schedule-days-error">' in html
    assert 'id="schedule-grace-error">' in html
    assert 'value="18:00"' in html  # what was typed is kept
    assert not CheckInSchedule.objects.filter(enrollment=enrollment).exists()


def test_a_bad_screen_shows_its_field_errors_and_saves_nothing(
    counselor: Any, enrollment: Enrollment
) -> None:
    tomorrow = (enrollment_today(enrollment) + timedelta(days=1)).isoformat()
    refused = browser(counselor).post(
        f"{page_url(enrollment)}screens/",
        screen_form(enrollment, collected_on=tomorrow, result_cocaine="", result_opiates=""),
    )
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'id="screen-collected-error">Cannot be in the future.' in html
    assert 'id="screen-results-error">List each substance tested and its result.' in html
    assert "Nothing was saved." in html
    assert not DrugScreen.objects.filter(enrollment=enrollment).exists()
    assert not Flag.objects.filter(enrollment=enrollment).exists()


def test_an_exercise_of_another_program_is_refused(counselor: Any, enrollment: Enrollment) -> None:
    other: Any = CounselorFactory()
    foreign = Exercise.objects.create(
        program=other.program, slug="elsewhere", name="Elsewhere", duration_minutes=5
    )
    refused = browser(counselor).post(f"{page_url(enrollment)}exercises/", {"exercise": foreign.id})
    assert refused.status_code == 400
    assert 'id="assign-exercise-error">' in refused.content.decode()
    assert not ExerciseAssignment.objects.filter(enrollment=enrollment).exists()


def test_a_level_the_program_does_not_offer_is_refused(
    counselor: Any, enrollment: Enrollment
) -> None:
    program = enrollment.program
    program.levels_of_care = [enrollment.level_of_care]
    program.save()
    other = next(v for v in ("1", "2.1", "2.5") if v != enrollment.level_of_care)
    refused = browser(counselor).post(f"{page_url(enrollment)}care/", {"level_of_care": other})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'id="care-level-error">This program does not offer that level.' in html
    assert Enrollment.objects.get(id=enrollment.id).level_of_care == enrollment.level_of_care


def test_success_messages_name_no_clinical_fact(counselor: Any, enrollment: Enrollment) -> None:
    """The messages cookie is signed, not encrypted: what it says is readable in the browser."""
    client = browser(counselor)
    url = page_url(enrollment)
    screened = client.post(f"{url}screens/", screen_form(enrollment))
    assigned = client.post(f"{url}exercises/", {"exercise": an_exercise().id, "note": ""})
    changed = client.post(
        f"{url}care/",
        {"stage": "early_recovery", "level_of_care": enrollment.level_of_care, "reason": "Ready"},
    )

    assert [r.status_code for r in (screened, assigned, changed)] == [302, 302, 302]
    assert cookie_messages(screened) == ["Drug screen recorded."]
    assert cookie_messages(assigned)[-1] == "Exercise assigned."
    assert cookie_messages(changed)[-1] == "Stage and level of care saved."
    assert "Drug screen recorded." in client.get(url).content.decode()
