"""Bad input on every write endpoint: 400 in the one error format, never a 500, and
never a half-saved object.

Each endpoint has a valid body; a case changes one thing in it and names the field the
answer must blame. Row counts of the tables the endpoint writes (and, for updates, the
object itself) must be exactly what they were.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db.models import Model
from django.forms.models import model_to_dict
from django.utils import timezone
from rest_framework.test import APIClient

from backend.timezones import local_today
from notifications.models import Device, NotificationPreference
from recovery.models import (
    Attendance,
    CheckIn,
    CheckInSchedule,
    Enrollment,
    EnrollmentChange,
    EnrollmentCode,
    Exercise,
    ExerciseAssignment,
    ExercisePractice,
    FavoriteExercise,
    Flag,
    FlagEvent,
    FlagKind,
    SessionSeries,
    Severity,
    SupportContact,
    TreatmentSession,
    UrgeEvent,
    User,
)
from tests.conftest import client_for
from tests.factories import (
    ContactFactory,
    CounselorFactory,
    EnrollmentFactory,
    ProgramFactory,
    SessionFactory,
    SupervisorFactory,
)

pytestmark = pytest.mark.django_db

DROP = object()  # remove the key from the valid body
HUGE = 2**70  # no database integer holds it


@dataclass
class Env:
    patient: APIClient
    counselor: APIClient
    enrollment: Enrollment
    counselor_user: User
    contact: SupportContact
    session: TreatmentSession
    series: SessionSeries
    flag: Flag
    exercise: Exercise


@pytest.fixture
def env() -> Env:
    program = ProgramFactory()
    counselor = CounselorFactory(program=program)
    enrollment = EnrollmentFactory(program=program, primary_counselor=counselor)
    # The counselor facilitates both, so may write them: here only the input is at fault.
    session = SessionFactory(program=program, facilitator=counselor)
    session.patients.set([enrollment])
    series = SessionSeries.objects.create(
        program=program,
        facilitator=counselor,
        kind="group_therapy",
        title="Evening group",
        rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=4",
        start_date=local_today("America/New_York"),
        start_time=time(18, 0),
        duration_minutes=180,
        timezone="America/New_York",
    )
    flag = Flag.objects.create(
        enrollment=enrollment,
        kind=FlagKind.HIGH_CRAVING,
        severity=Severity.WARNING,
        window_key="2026-01-01",
        created_at=timezone.now(),
    )
    return Env(
        patient=client_for(enrollment.patient),
        counselor=client_for(counselor),
        enrollment=enrollment,
        counselor_user=counselor,
        contact=ContactFactory(enrollment=enrollment),
        session=session,
        series=series,
        flag=flag,
        exercise=Exercise.objects.filter(program__isnull=True).first(),
    )


def _now(**delta: float) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


@dataclass(frozen=True)
class Endpoint:
    method: str
    url: Callable[[Env], str]
    actor: str  # "patient" or "counselor"
    body: Callable[[Env], dict[str, Any]]
    models: tuple[type[Model], ...]
    text: str | None = None  # a string field to carry NUL and oversized text
    text_max: int = 0
    instance: Callable[[Env], Model] | None = None  # what an update must leave alone


def schedule_body(e: Env) -> dict[str, Any]:
    return {"opens_at": "17:00", "due_by": "21:00", "days_of_week": [1, 3, 5], "grace_minutes": 30}


def session_body(e: Env) -> dict[str, Any]:
    return {
        "kind": "group_therapy",
        "title": "Relapse prevention",
        "starts_at": _now(days=3),
        "ends_at": _now(days=3, hours=3),
        "patients": [e.enrollment.id],
    }


ENDPOINTS: dict[str, Endpoint] = {
    "checkin": Endpoint(
        "post",
        lambda e: "/api/v1/checkins/",
        "patient",
        lambda e: {
            "id": str(uuid.uuid4()),
            "mood": 3,
            "craving": 4,
            "used_substance": False,
            "hours_slept": "7.5",
            "device_time": _now(),
            "device_timezone": "America/New_York",
        },
        (CheckIn, Flag),
        text="note",
        text_max=2000,
    ),
    "urge": Endpoint(
        "post",
        lambda e: "/api/v1/urges/",
        "patient",
        lambda e: {"intensity": 6, "note": "after work"},
        (UrgeEvent, Flag),
        text="note",
        text_max=2000,
    ),
    "my-schedule": Endpoint(
        "put",
        lambda e: "/api/v1/me/checkin-schedule/",
        "patient",
        schedule_body,
        (CheckInSchedule,),
        text="paused_reason",
        text_max=200,
    ),
    "exercise": Endpoint(
        "post",
        lambda e: "/api/v1/exercises/",
        "counselor",
        lambda e: {
            "slug": "box-walk",
            "name": "Box walk",
            "category": "behavioral",
            "summary": "Walk it off.",
            "steps": ["Walk."],
            "duration_minutes": 5,
        },
        (Exercise,),
        text="summary",
        text_max=500,
    ),
    "practice": Endpoint(
        "post",
        lambda e: "/api/v1/practices/",
        "patient",
        lambda e: {
            "exercise": e.exercise.id,
            "craving_before": 7,
            "craving_after": 4,
            "helpfulness": 4,
            "practiced_at": _now(minutes=-5),
        },
        (ExercisePractice,),
        text="note",
        text_max=2000,
    ),
    "assignment": Endpoint(
        "post",
        lambda e: "/api/v1/assignments/",
        "counselor",
        lambda e: {"patient": e.enrollment.id, "exercise": e.exercise.id, "note": "daily"},
        (ExerciseAssignment,),
        text="note",
        text_max=500,
    ),
    "contact": Endpoint(
        "post",
        lambda e: "/api/v1/contacts/",
        "patient",
        lambda e: {"name": "Sam", "relationship": "sponsor", "phone": "+1 555 0101"},
        (SupportContact,),
        text="name",
        text_max=120,
    ),
    "contact-patch": Endpoint(
        "patch",
        lambda e: f"/api/v1/contacts/{e.contact.id}/",
        "patient",
        lambda e: {"name": "Renamed"},
        (SupportContact,),
        text="note",
        text_max=1000,
        instance=lambda e: e.contact,
    ),
    "contact-reorder": Endpoint(
        "post",
        lambda e: "/api/v1/contacts/reorder/",
        "patient",
        lambda e: {"ids": [e.contact.id]},
        (SupportContact,),
        instance=lambda e: e.contact,
    ),
    "enroll": Endpoint(
        "post",
        lambda e: "/api/v1/patients/",
        "counselor",
        lambda e: {"first_name": "Robin", "timezone": "America/Chicago"},
        (Enrollment, User, EnrollmentChange, CheckInSchedule),
        text="first_name",
        text_max=150,
    ),
    "patient-patch": Endpoint(
        "patch",
        lambda e: f"/api/v1/patients/{e.enrollment.id}/",
        "counselor",
        lambda e: {"has_medication": True},
        (Enrollment,),
        text="timezone",
        text_max=64,
        instance=lambda e: e.enrollment,
    ),
    "patient-change": Endpoint(
        "post",
        lambda e: f"/api/v1/patients/{e.enrollment.id}/change/",
        "counselor",
        lambda e: {"stage": "early_recovery", "reason": "steady"},
        (EnrollmentChange,),
        text="reason",
        text_max=500,
        instance=lambda e: e.enrollment,
    ),
    "patient-discharge": Endpoint(
        "post",
        lambda e: f"/api/v1/patients/{e.enrollment.id}/discharge/",
        "counselor",
        lambda e: {"reason": "completed"},
        (EnrollmentChange,),
        text="reason",
        text_max=500,
        instance=lambda e: e.enrollment,
    ),
    "patient-schedule": Endpoint(
        "put",
        lambda e: f"/api/v1/patients/{e.enrollment.id}/checkin-schedule/",
        "counselor",
        schedule_body,
        (CheckInSchedule,),
        text="paused_reason",
        text_max=200,
    ),
    "session": Endpoint(
        "post",
        lambda e: "/api/v1/sessions/",
        "counselor",
        session_body,
        (TreatmentSession,),
        text="title",
        text_max=200,
    ),
    "session-patch": Endpoint(
        "patch",
        lambda e: f"/api/v1/sessions/{e.session.id}/",
        "counselor",
        lambda e: {"title": "Renamed", "starts_at": _now(days=4), "ends_at": _now(days=4, hours=2)},
        (TreatmentSession,),
        text="location",
        text_max=200,
        instance=lambda e: e.session,
    ),
    "attendance": Endpoint(
        "post",
        lambda e: f"/api/v1/sessions/{e.session.id}/attendance/",
        "counselor",
        lambda e: {"patient": e.enrollment.id, "status": "late", "minutes_attended": 150},
        (Attendance,),
    ),
    "series": Endpoint(
        "post",
        lambda e: "/api/v1/series/",
        "counselor",
        lambda e: {
            "kind": "group_therapy",
            "title": "Morning group",
            "rrule": "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=6",
            "start_date": local_today("America/New_York").isoformat(),
            "start_time": "09:00",
            "duration_minutes": 120,
            "timezone": "America/New_York",
            "patients": [e.enrollment.id],
        },
        (SessionSeries, TreatmentSession),
        text="rrule",
        text_max=500,
    ),
    "series-cancel-rest": Endpoint(
        "post",
        lambda e: f"/api/v1/series/{e.series.id}/cancel-rest/",
        "counselor",
        lambda e: {"from_instant": _now(days=1)},
        (SessionSeries, TreatmentSession),
        instance=lambda e: e.series,
    ),
    "series-move-rest": Endpoint(
        "post",
        lambda e: f"/api/v1/series/{e.series.id}/move-rest/",
        "counselor",
        lambda e: {
            "from_date": (local_today("America/New_York") + timedelta(days=7)).isoformat(),
            "start_time": "19:00",
            "duration_minutes": 120,
        },
        (SessionSeries, TreatmentSession),
        instance=lambda e: e.series,
    ),
    "flag-acknowledge": Endpoint(
        "post",
        lambda e: f"/api/v1/flags/{e.flag.id}/acknowledge/",
        "counselor",
        lambda e: {},
        (FlagEvent,),
        instance=lambda e: e.flag,
    ),
    "flag-assign": Endpoint(
        "post",
        lambda e: f"/api/v1/flags/{e.flag.id}/assign/",
        "counselor",
        lambda e: {"assignee": e.counselor_user.id},
        (FlagEvent,),
        instance=lambda e: e.flag,
    ),
    "flag-resolve": Endpoint(
        "post",
        lambda e: f"/api/v1/flags/{e.flag.id}/resolve/",
        "counselor",
        lambda e: {"outcome_note": "Called; safe plan in place."},
        (FlagEvent,),
        text="outcome_note",
        text_max=4000,
        instance=lambda e: e.flag,
    ),
    "session-cancel": Endpoint(
        "post",
        lambda e: f"/api/v1/sessions/{e.session.id}/cancel/",
        "counselor",
        lambda e: {},
        (TreatmentSession,),
        instance=lambda e: e.session,
    ),
    "patient-code": Endpoint(
        "post",
        lambda e: f"/api/v1/patients/{e.enrollment.id}/enrollment-code/",
        "counselor",
        lambda e: {},
        (EnrollmentCode,),
    ),
    "favorite": Endpoint(
        "put",
        lambda e: f"/api/v1/exercises/{e.exercise.id}/favorite/",
        "patient",
        lambda e: {},
        (FavoriteExercise,),
    ),
    "device": Endpoint(
        "post",
        lambda e: "/api/v1/devices/",
        "patient",
        lambda e: {"address": "fcm-abc", "platform": "android"},
        (Device,),
        text="app_version",
        text_max=32,
    ),
    "preferences": Endpoint(
        "put",
        lambda e: "/api/v1/notifications/preferences/",
        "patient",
        lambda e: {"muted_kinds": ["checkin_nudge"], "quiet_start": "22:00", "quiet_end": "07:00"},
        (NotificationPreference,),
    ),
}


@dataclass(frozen=True)
class Case:
    endpoint: str
    change: dict[str, Any] | Callable[[Env], dict[str, Any]]
    blame: str  # the field the answer must name

    def apply(self, e: Env) -> dict[str, Any]:
        body = ENDPOINTS[self.endpoint].body(e)
        change = self.change(e) if callable(self.change) else self.change
        for key, value in change.items():
            if value is DROP:
                body.pop(key, None)
            else:
                body[key] = value
        return body


CASES: list[Case] = [
    # check-ins: ranges, choices, times, server fields
    Case("checkin", {"mood": 0}, "mood"),
    Case("checkin", {"mood": 6}, "mood"),
    Case("checkin", {"craving": 11}, "craving"),
    Case("checkin", {"craving": -1}, "craving"),
    Case("checkin", {"hours_slept": 25}, "hours_slept"),
    Case("checkin", {"hours_slept": "seven"}, "hours_slept"),
    Case("checkin", {"substances": ["moonshine"], "used_substance": True}, "substances"),
    Case("checkin", {"mood": "happy"}, "mood"),
    Case("checkin", {"used_substance": "perhaps"}, "used_substance"),
    Case("checkin", {"triggers": ["solar_flares"]}, "triggers"),
    Case("checkin", {"triggers": "stress"}, "triggers"),
    Case("checkin", {"triggers": ["stress"] * 100}, "triggers"),
    Case("checkin", {"substances": ["alcohol"] * 11, "used_substance": True}, "substances"),
    Case("checkin", {"substances": ["alcohol"]}, "substances"),  # without used_substance
    Case("checkin", {"trigger_other": "x" * 201}, "trigger_other"),
    Case("checkin", {"device_time": "2026-03-08T18:00:00"}, "device_time"),
    Case("checkin", {"device_time": "2026-02-30T10:00:00Z"}, "device_time"),
    Case("checkin", {"device_time": "yesterday"}, "device_time"),
    Case("checkin", {"device_time": _now(days=1)}, "device_time"),
    Case("checkin", {"device_time": _now(days=-15)}, "device_time"),
    Case("checkin", {"device_timezone": "Mars/Olympus_Mons"}, "device_timezone"),
    Case("checkin", {"id": "not-a-uuid"}, "id"),
    Case("checkin", {"id": DROP}, "id"),
    Case("checkin", {"patient": 1}, "patient"),
    Case("checkin", {"received_at": _now()}, "received_at"),
    Case("checkin", {"is_late": True}, "is_late"),
    # urges
    Case("urge", {"intensity": 11}, "intensity"),
    Case("urge", {"intensity": -1}, "intensity"),
    Case("urge", {"occurred_at": _now()}, "occurred_at"),
    Case("urge", {"patient": 1}, "patient"),
    # schedules
    Case("my-schedule", {"days_of_week": [0]}, "days_of_week"),
    Case("my-schedule", {"days_of_week": [8]}, "days_of_week"),
    Case("my-schedule", {"days_of_week": []}, "days_of_week"),
    Case("my-schedule", {"days_of_week": list(range(1, 8)) * 2}, "days_of_week"),
    Case("my-schedule", {"grace_minutes": 721}, "grace_minutes"),
    Case("my-schedule", {"opens_at": "25:00"}, "opens_at"),
    Case("my-schedule", {"due_by": "17:00"}, "due_by"),
    Case("my-schedule", {"next_due_at": _now()}, "next_due_at"),
    Case("patient-schedule", {"grace_minutes": -1}, "grace_minutes"),
    Case("patient-schedule", {"days_of_week": ["monday"]}, "days_of_week"),
    # exercises, practice, assignments
    Case("exercise", {"category": "astrology"}, "category"),
    Case("exercise", {"duration_minutes": 0}, "duration_minutes"),
    Case("exercise", {"duration_minutes": 121}, "duration_minutes"),
    Case("exercise", {"steps": []}, "steps"),
    Case("exercise", {"steps": ["step"] * 21}, "steps"),
    Case("exercise", {"steps": ["x" * 501]}, "steps"),
    Case("exercise", {"slug": "not a slug"}, "slug"),
    Case("exercise", {"slug": "urge-surfing", "program": 1}, "program"),
    Case("practice", {"craving_before": 11}, "craving_before"),
    Case("practice", {"craving_after": -1}, "craving_after"),
    Case("practice", {"helpfulness": 0}, "helpfulness"),
    Case("practice", {"helpfulness": 6}, "helpfulness"),
    Case("practice", {"exercise": 999_999}, "exercise"),
    Case("practice", {"exercise": HUGE}, "exercise"),
    Case("practice", {"practiced_at": "2026-03-08T18:00:00"}, "practiced_at"),
    Case("practice", {"practiced_at": "2026-02-30T10:00:00Z"}, "practiced_at"),
    Case("practice", {"practiced_at": _now(days=1)}, "practiced_at"),
    Case("practice", {"patient": 1}, "patient"),
    Case("assignment", {"exercise": 999_999}, "exercise"),
    Case("assignment", {"exercise": HUGE}, "exercise"),
    Case("assignment", {"patient": DROP}, "patient"),
    Case("assignment", {"patient": "me"}, "patient"),
    Case("assignment", {"assigned_by": 1}, "assigned_by"),
    Case("assignment", {"assigned_at": _now()}, "assigned_at"),
    # contacts
    Case("contact", {"relationship": "nemesis"}, "relationship"),
    Case("contact", {"phone": "call me"}, "phone"),
    Case("contact", {"phone": "", "email": ""}, "phone"),
    Case("contact", {"email": "not-an-email"}, "email"),
    Case("contact", {"note": "x" * 1001}, "note"),
    Case("contact", {"position": -1}, "position"),
    Case("contact", {"enrollment": 1}, "enrollment"),
    Case("contact-patch", {"relationship": "nemesis"}, "relationship"),
    Case("contact-patch", {"phone": "", "email": ""}, "phone"),
    Case("contact-patch", {"id": 12345}, "id"),
    Case("contact-reorder", {"ids": ["first"]}, "ids"),
    Case("contact-reorder", {"ids": list(range(51))}, "ids"),
    Case("contact-reorder", lambda e: {"ids": [e.contact.id, e.contact.id]}, "ids"),
    Case("contact-reorder", {"ids": [HUGE]}, "ids"),
    # patients
    Case("enroll", {"level_of_care": "9"}, "level_of_care"),
    Case("enroll", {"level_of_care": "4"}, "level_of_care"),  # not offered by the program
    Case("enroll", {"timezone": "Nowhere/Special"}, "timezone"),
    Case("enroll", {"start_date": "2026-02-30"}, "start_date"),
    Case("enroll", {"expected_end_date": "2000-01-01"}, "expected_end_date"),
    Case("enroll", {"care_team": [999_999]}, "care_team"),
    Case("enroll", {"care_team": [HUGE]}, "care_team"),
    Case("enroll", {"care_team": list(range(1, 12))}, "care_team"),
    Case("enroll", {"first_name": ""}, "first_name"),
    Case("enroll", {"stage": "maintenance"}, "stage"),
    Case("patient-patch", {"timezone": "Nowhere/Special"}, "timezone"),
    Case("patient-patch", {"expected_end_date": "2026-02-30"}, "expected_end_date"),
    Case("patient-patch", {"expected_end_date": "2000-01-01"}, "expected_end_date"),
    Case("patient-patch", {"stage": "maintenance"}, "stage"),
    Case("patient-patch", {"status": "discharged"}, "status"),
    Case("patient-patch", {"primary_counselor": 1}, "primary_counselor"),
    Case("patient-change", {"stage": "enlightenment"}, "stage"),
    Case("patient-change", {"level_of_care": "9"}, "level_of_care"),
    Case("patient-change", {"stage": DROP}, "stage"),
    Case("patient-discharge", {"discharged_at": _now()}, "discharged_at"),
    # sessions, attendance, series
    Case("session", {"kind": "karaoke"}, "kind"),
    Case("session", {"starts_at": "2026-03-08T18:00:00"}, "starts_at"),
    Case("session", {"ends_at": "2026-02-30T10:00:00Z"}, "ends_at"),
    Case("session", lambda e: {"ends_at": _now(days=2)}, "ends_at"),
    Case("session", {"video_url": "not a url"}, "video_url"),
    Case("session", {"patients": [999_999]}, "patients"),
    Case("session", {"patients": [HUGE]}, "patients"),
    Case("session", {"patients": list(range(1, 202))}, "patients"),
    Case("session", {"patients": "1,2"}, "patients"),
    Case("session", {"patients": {"id": 1}}, "patients"),
    Case("session", {"patients": [0]}, "patients"),
    Case("session", {"patients": [True]}, "patients"),
    Case("session", {"facilitator": 999_999}, "facilitator"),
    Case("session", {"status": "cancelled"}, "status"),
    Case("session", {"series": 1}, "series"),
    Case("session-patch", {"ends_at": _now(days=1)}, "ends_at"),
    Case("session-patch", {"kind": "karaoke"}, "kind"),
    Case("session-patch", {"starts_at": "2026-03-08T18:00"}, "starts_at"),
    Case("session-patch", {"patients": list(range(1, 202))}, "patients"),
    Case("attendance", {"status": "asleep"}, "status"),
    Case("attendance", {"minutes_attended": -1}, "minutes_attended"),
    Case("attendance", {"minutes_attended": 10_000}, "minutes_attended"),
    Case("attendance", {"status": "absent", "minutes_attended": 30}, "minutes_attended"),
    Case("attendance", {"patient": DROP}, "patient"),
    Case("attendance", {"recorded_by": 1}, "recorded_by"),
    Case("series", {"rrule": "EVERY TUESDAY"}, "rrule"),
    Case("series", {"rrule": "FREQ=WEEKLY;BYDAY=TU"}, "rrule"),  # no end
    Case("series", {"rrule": "FREQ=SECONDLY;COUNT=100000"}, "rrule"),
    Case("series", {"rrule": "DTSTART:20260101T000000\nRRULE:FREQ=DAILY;COUNT=2"}, "rrule"),
    Case("series", {"start_date": "1900-01-01"}, "start_date"),
    Case("series", {"start_date": "2026-02-30"}, "start_date"),
    Case("series", {"start_time": "25:00"}, "start_time"),
    Case("series", {"duration_minutes": 4}, "duration_minutes"),
    Case("series", {"duration_minutes": 721}, "duration_minutes"),
    Case("series", {"timezone": "Nowhere/Special"}, "timezone"),
    Case("series", {"patients": list(range(1, 202))}, "patients"),
    Case("series", {"patients": 5}, "patients"),
    Case("series", {"expanded_until": _now()}, "expanded_until"),
    Case("series-cancel-rest", {"from_instant": "2026-03-08T18:00:00"}, "from_instant"),
    Case("series-cancel-rest", {"from_instant": "2026-02-30T10:00:00Z"}, "from_instant"),
    Case("series-cancel-rest", {"from_instant": _now(days=-1)}, "from_instant"),
    Case("series-move-rest", {"from_date": "2026-02-30"}, "from_date"),
    Case(
        "series-move-rest",
        {"from_date": (local_today("America/New_York") - timedelta(days=2)).isoformat()},
        "from_date",
    ),
    Case("series-move-rest", {"start_time": "7pm"}, "start_time"),
    Case("series-move-rest", {"duration_minutes": 4}, "duration_minutes"),
    # flags
    Case("flag-assign", {"assignee": "me"}, "assignee"),
    Case("flag-assign", {"assignee": 999_999}, "assignee"),
    Case("flag-assign", {"assignee": HUGE}, "assignee"),
    Case("flag-resolve", {"outcome_note": ""}, "outcome_note"),
    Case("flag-resolve", {"outcome_note": "   "}, "outcome_note"),
    Case("flag-resolve", {"status": "open"}, "status"),
    # notifications
    Case("device", {"platform": "palm"}, "platform"),
    Case("device", {"address": "x" * 4097}, "address"),
    Case("device", {"user": 1}, "user"),
    Case("preferences", {"muted_kinds": ["gossip"]}, "muted_kinds"),
    Case("preferences", {"quiet_end": None}, "quiet_end"),
    Case("preferences", {"timezone": "Nowhere/Special"}, "timezone"),
]

# Every endpoint also refuses a field it does not know, a NUL byte and oversized text.
for name, spec in ENDPOINTS.items():
    CASES.append(Case(name, {"bogus": 1}, "bogus"))
    if spec.text:
        CASES.append(Case(name, {spec.text: "x" * (spec.text_max + 1)}, spec.text))


def _client(e: Env, actor: str) -> APIClient:
    return e.patient if actor == "patient" else e.counselor


def _snapshot(e: Env, spec: Endpoint) -> tuple[dict[str, int], dict[str, Any] | None]:
    counts = {m.__name__: m.objects.count() for m in spec.models}
    instance = spec.instance(e) if spec.instance else None
    if instance is not None:
        instance.refresh_from_db()
        return counts, model_to_dict(instance)
    return counts, None


def _assert_refused(response: Any, *, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["message"], str)
    assert error["message"]
    return dict(error)


def _call(e: Env, spec: Endpoint, body: Any, **extra: Any) -> Any:
    return getattr(_client(e, spec.actor), spec.method)(spec.url(e), body, **extra)


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_the_valid_body_is_accepted(env: Env, name: str) -> None:
    """The table's own sanity check: without the change, each body succeeds."""
    spec = ENDPOINTS[name]
    response = _call(env, spec, spec.body(env), format="json")
    assert response.status_code < 300, response.content


@pytest.mark.parametrize("case", CASES, ids=[f"{c.endpoint}-{c.blame}" for c in CASES])
def test_bad_input_is_refused_with_the_field_named(env: Env, case: Case) -> None:
    spec = ENDPOINTS[case.endpoint]
    before = _snapshot(env, spec)
    response = _call(env, spec, case.apply(env), format="json")
    error = _assert_refused(response)
    assert error["code"] == "invalid"
    # Nested errors come flattened to dotted keys: "triggers.0" blames "triggers".
    blamed = [k for k in error["fields"] if k == case.blame or k.startswith(f"{case.blame}.")]
    assert blamed, error
    assert all(isinstance(m, str) for k in blamed for m in error["fields"][k])
    assert _snapshot(env, spec) == before


def _messages(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [m for v in value.values() for m in _messages(v)]
    if isinstance(value, list):
        return [m for v in value for m in _messages(v)]
    return [value]


@pytest.mark.parametrize("name", [n for n, s in ENDPOINTS.items() if s.text])
def test_nul_bytes_are_refused(env: Env, name: str) -> None:
    spec = ENDPOINTS[name]
    before = _snapshot(env, spec)
    body = {**spec.body(env), spec.text: "before\x00after"}
    _assert_refused(_call(env, spec, body, format="json"))
    assert _snapshot(env, spec) == before


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_nul_bytes_in_a_key_are_refused(env: Env, name: str) -> None:
    spec = ENDPOINTS[name]
    before = _snapshot(env, spec)
    _assert_refused(_call(env, spec, {**spec.body(env), "no\x00te": "x"}, format="json"))
    assert _snapshot(env, spec) == before


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_a_body_over_the_upload_limit_is_refused(env: Env, name: str) -> None:
    spec = ENDPOINTS[name]
    before = _snapshot(env, spec)
    filler = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024)
    body = {**spec.body(env), spec.text or "padding": filler}
    response = _call(env, spec, body, format="json")
    assert response.status_code in (400, 413), response.content
    _assert_refused(response, status=response.status_code)
    assert _snapshot(env, spec) == before


@pytest.mark.parametrize("name", list(ENDPOINTS))
@pytest.mark.parametrize("raw", ["[{}]", '"text"', "42", "null", "true"])
def test_a_body_that_is_not_an_object_is_refused(env: Env, name: str, raw: str) -> None:
    spec = ENDPOINTS[name]
    before = _snapshot(env, spec)
    _assert_refused(_call(env, spec, raw, content_type="application/json"))
    assert _snapshot(env, spec) == before


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_broken_json_is_refused(env: Env, name: str) -> None:
    spec = ENDPOINTS[name]
    before = _snapshot(env, spec)
    response = _call(env, spec, '{"mood": 3,', content_type="application/json")
    _assert_refused(response)
    assert _snapshot(env, spec) == before


@pytest.mark.parametrize("name", ["checkin", "contact", "session", "flag-resolve"])
def test_a_form_body_is_refused_as_unsupported(env: Env, name: str) -> None:
    spec = ENDPOINTS[name]
    before = _snapshot(env, spec)
    response = _call(env, spec, "mood=3", content_type="application/x-www-form-urlencoded")
    _assert_refused(response, status=415)
    assert _snapshot(env, spec) == before


# --- query strings --------------------------------------------------------------------

LISTS = [
    ("patient", "/api/v1/checkins/"),
    ("patient", "/api/v1/urges/"),
    ("patient", "/api/v1/exercises/"),
    ("patient", "/api/v1/practices/"),
    ("patient", "/api/v1/assignments/"),
    ("patient", "/api/v1/me/favorites/"),
    ("patient", "/api/v1/sessions/"),
    ("patient", "/api/v1/notifications/"),
    ("counselor", "/api/v1/patients/"),
    ("counselor", "/api/v1/flags/"),
    ("counselor", "/api/v1/series/"),
    ("counselor", "/api/v1/checkins/"),
]


@pytest.mark.parametrize(("actor", "path"), LISTS)
@pytest.mark.parametrize("size", ["201", "1000000", "0", "-1", "ten", HUGE])
def test_page_size_over_the_cap_or_nonsense_is_refused(
    env: Env, actor: str, path: str, size: Any
) -> None:
    response = _client(env, actor).get(path, {"page_size": size})
    error = _assert_refused(response)
    assert "page_size" in error["fields"]


@pytest.mark.parametrize(("actor", "path"), LISTS)
def test_page_size_at_the_cap_is_fine(env: Env, actor: str, path: str) -> None:
    response = _client(env, actor).get(path, {"page_size": 200})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "blame"),
    [
        ("/api/v1/checkins/", {"since": "2026-02-30T10:00:00Z"}, "since"),
        ("/api/v1/checkins/", {"until": "tomorrow"}, "until"),
        ("/api/v1/checkins/", {"patient": "me"}, "patient"),
        ("/api/v1/urges/", {"since": "2026-13-01T00:00:00Z"}, "since"),
        ("/api/v1/practices/", {"patient": "x"}, "patient"),
        ("/api/v1/flags/", {"status": "sleeping"}, "status"),
        ("/api/v1/flags/", {"severity": "99"}, "severity"),
        ("/api/v1/flags/", {"kind": "gossip"}, "kind"),
        ("/api/v1/sessions/", {"since": "2026-03-08T18:00:00"}, "since"),
        ("/api/v1/sessions/", {"until": "2026-02-30T10:00:00Z"}, "until"),
        ("/api/v1/attendance/summary/", {"patient": "x"}, "patient"),
    ],
)
def test_bad_filters_are_refused(env: Env, path: str, params: dict[str, str], blame: str) -> None:
    error = _assert_refused(env.counselor.get(path, params))
    assert blame in error["fields"], error


@pytest.mark.parametrize(
    "params",
    [{"before": "2026-03-08T18:00:00"}, {"before": "2026-02-30T10:00:00Z"}, {"limit": "201"}],
)
def test_bad_timeline_paging_is_refused(env: Env, params: dict[str, str]) -> None:
    response = env.counselor.get(f"/api/v1/patients/{env.enrollment.id}/timeline/", params)
    error = _assert_refused(response)
    assert set(params) <= set(error["fields"])


def test_huge_ids_in_the_path_answer_404(env: Env) -> None:
    for path in (
        f"/api/v1/patients/{HUGE}/",
        f"/api/v1/flags/{HUGE}/",
        f"/api/v1/sessions/{HUGE}/",
        f"/api/v1/contacts/{HUGE}/",
    ):
        assert env.counselor.get(path).status_code in (403, 404), path


def test_huge_ids_in_filters_find_nothing(env: Env) -> None:
    for path in ("/api/v1/checkins/", "/api/v1/flags/", "/api/v1/practices/"):
        response = env.counselor.get(path, {"patient": HUGE})
        assert response.status_code in (200, 400), path
        if response.status_code == 200:
            assert response.json()["results"] == []


# --- extreme values (tests/backend/test_api_extreme_values.py sends them everywhere) ------


@pytest.mark.parametrize("name", ["checkin", "contact"])
def test_json_nested_a_thousand_levels_is_refused(env: Env, name: str) -> None:
    spec = ENDPOINTS[name]
    before = _snapshot(env, spec)
    raw = '{"note": ' + "[" * 1000 + "]" * 1000 + "}"
    error = _assert_refused(_call(env, spec, raw, content_type="application/json"))
    assert "nested deeper than" in error["message"]
    assert _snapshot(env, spec) == before


def test_brackets_inside_text_are_not_nesting(env: Env) -> None:
    spec = ENDPOINTS["checkin"]
    body = {**spec.body(env), "note": "[{" * 500 + '"\\' + "}]" * 5}
    response = _call(env, spec, body, format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("actor", "path", "params", "blame"),
    [
        ("supervisor", "/api/v1/audit/", {"actor": "1e30"}, "actor"),
        ("supervisor", "/api/v1/audit/", {"patient": str(HUGE)}, "patient"),
        ("patient", "/api/v1/urges/", {"until": "9999-12-31T23:59:59-14:00"}, "until"),
        ("patient", "/api/v1/urges/", {"since": "0001-01-01T00:00:00+14:00"}, "since"),
        ("patient", "/api/v1/checkins/", {"since": "1500-01-01T00:00:00Z"}, "since"),
        ("counselor", "/api/v1/screens/", {"until": "9999-12-31"}, "until"),
        ("counselor", "/api/v1/meetings/weekly/", {"patient": str(HUGE)}, "patient"),
        # A patient's own answers need no ?patient=, but a malformed one is still refused.
        ("patient", "/api/v1/meetings/weekly/", {"patient": "x1"}, "patient"),
        ("patient", "/api/v1/attendance/summary/", {"patient": str(HUGE)}, "patient"),
        ("counselor", "/api/v1/sessions/", {"until": "9999-12-31T23:59:59-14:00"}, "until"),
    ],
)
def test_out_of_range_filters_are_refused(
    env: Env, actor: str, path: str, params: dict[str, str], blame: str
) -> None:
    if actor == "supervisor":
        client = client_for(SupervisorFactory(program=env.enrollment.program))
    else:
        client = _client(env, actor)
    error = _assert_refused(client.get(path, params))
    assert blame in error["fields"], error


@pytest.mark.parametrize(
    "params",
    [
        {"before": "9999-12-31T23:59:59-14:00"},
        {"before": "0001-01-01T00:00:00+14:00"},
        {"cursor": "9999-12-31T23:59:59-14:00|checkin|1"},
    ],
)
def test_timeline_instants_outside_the_calendar_are_refused(
    env: Env, params: dict[str, str]
) -> None:
    response = env.counselor.get(f"/api/v1/patients/{env.enrollment.id}/timeline/", params)
    error = _assert_refused(response)
    assert set(params) <= set(error["fields"])


@pytest.mark.parametrize("field", ["start_date", "expected_end_date"])
@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01"])
def test_enrollment_dates_out_of_range_are_refused(env: Env, field: str, value: str) -> None:
    before = Enrollment.objects.count()
    response = env.counselor.post(
        "/api/v1/patients/", {"first_name": "Robin", field: value}, format="json"
    )
    error = _assert_refused(response)
    assert field in error["fields"], error
    assert Enrollment.objects.count() == before


def test_nul_search_survives_data_deeper_than_the_recursion_limit() -> None:
    from backend.api import _nul_path

    deep: Any = "x\x00"
    for index in range(5000):
        deep = {"k": [deep]} if index % 2 else [deep]
    path = _nul_path(deep)
    assert path is not None
    assert path.endswith(".0")
    assert _nul_path({"a": ["ok", {"b\x00": 1}]}) == "a.1.b\x00"
    assert _nul_path({"a": "ok", "b": ["x", "y\x00"]}) == "b.1"
