"""Who may touch what: every object endpoint, as every kind of caller.

The callers: patient A (the owner of every object below), patient B (same program),
a counselor on A's care team, a counselor of the same program who is not, a supervisor
of the program, a supervisor of another program, and an anonymous caller.

The rules the table encodes:

* a patient reads and writes only their own data; staff-only endpoints refuse patients;
* a counselor sees the patients on whose care team they sit, a supervisor the program;
  sessions and series are the program's schedule, which all its staff see, but a
  counselor reads and records attendance and books only for patients on their care
  teams, and changes and cancels only individual sessions whose patients all are (the
  facilitator of a session takes its whole roll and writes it);
* nobody crosses programs;
* an object out of reach answers 404, never 403, so its existence does not leak; a
  403 only ever comes from a role check that runs before any lookup (it says nothing
  about the object);
* anonymous callers get 401.

To add an endpoint: add a row to ROWS (and, if it needs one, an object to `world`).
`test_every_url_is_in_the_table` fails until you do.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

import pytest
from django.http import Http404
from django.urls import URLPattern
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from backend.timezones import local_today
from notifications import urls as notification_urls
from notifications.models import Device, Notification, NotificationState
from recovery import urls as recovery_urls
from recovery.models import (
    Attendance,
    AttendanceStatus,
    CheckIn,
    CheckInSchedule,
    Enrollment,
    Exercise,
    ExerciseAssignment,
    ExercisePractice,
    FavoriteExercise,
    Flag,
    FlagKind,
    FlagStatus,
    SessionSeries,
    Severity,
    SupportContact,
    TreatmentSession,
    UrgeEvent,
    User,
)
from recovery.notification_kinds import NotificationKind
from recovery.selectors.access import enrollment_for_patient_user, enrollments_visible_to
from recovery.services.messages import message_send
from recovery.services.questionnaires import questionnaire_submit
from tests.conftest import client_for
from tests.factories import (
    ContactFactory,
    CounselorFactory,
    DeviceFactory,
    EnrollmentFactory,
    PatientUserFactory,
    ProgramFactory,
    ScheduleFactory,
    SessionFactory,
    SupervisorFactory,
)

pytestmark = pytest.mark.django_db

ACTORS = (
    "owner",
    "other_patient",
    "care_team",
    "other_counselor",
    "supervisor",
    "foreign_supervisor",
    "anonymous",
)

# Besides status codes, a list answers 200 and either shows A's object or hides it.
SEE = "see"
HIDE = "hide"
# Account endpoints act on the caller only: any answer but a server error will do.
SELF = "self"


def expect(
    owner: int | str,
    other_patient: int | str,
    care_team: int | str,
    other_counselor: int | str,
    supervisor: int | str,
    foreign_supervisor: int | str,
    anonymous: int | str = 401,
) -> dict[str, int | str]:
    return dict(zip(ACTORS, (owner, other_patient, care_team, other_counselor, supervisor,
                             foreign_supervisor, anonymous), strict=True))  # fmt: skip


# The usual shapes.
PATIENT_RECORDS = expect(SEE, HIDE, SEE, HIDE, SEE, HIDE)  # lists of A's records
PATIENT_RECORD = expect(200, 404, 200, 404, 200, 404)  # one of A's records
STAFF_LIST = expect(403, 403, SEE, HIDE, SEE, HIDE)  # staff-only list of A's data


def staff_on(code: int) -> dict[str, int | str]:
    """A staff-only action on A's enrollment or flag."""
    return expect(403, 403, code, 404, code, 404)


def own_only(code: int) -> dict[str, int | str]:
    """A patient's own record: staff never write it, other patients never reach it."""
    return expect(code, 404, 403, 403, 403, 403)


def me_endpoint(owner: int | str, other_patient: int | str) -> dict[str, int | str]:
    """`/me/...`: every patient reaches their own; staff are refused."""
    return expect(owner, other_patient, 403, 403, 403, 403)


@dataclass
class World:
    users: dict[str, User]
    a: Enrollment
    b: Enrollment
    refs: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["refs"][name]
        except KeyError:
            raise AttributeError(name) from None


@pytest.fixture
def world() -> World:
    now = timezone.now()
    program, elsewhere = ProgramFactory(), ProgramFactory()
    care_team = CounselorFactory(program=program)
    other_counselor = CounselorFactory(program=program)
    supervisor = SupervisorFactory(program=program)
    foreign_supervisor = SupervisorFactory(program=elsewhere)
    a = EnrollmentFactory(program=program, primary_counselor=care_team)
    b = EnrollmentFactory(program=program, primary_counselor=other_counselor)
    EnrollmentFactory(program=elsewhere, primary_counselor=CounselorFactory(program=elsewhere))

    library = list(Exercise.objects.filter(program__isnull=True).order_by("id")[:3])
    program_exercise = Exercise.objects.create(
        program=program,
        slug="clinic-walk",
        name="Clinic walk",
        category="behavioral",
        summary="A walk around the block.",
        steps=["Walk."],
        duration_minutes=10,
    )
    ScheduleFactory(enrollment=a)
    checkin = CheckIn.objects.create(
        enrollment=a,
        client_id=uuid.uuid4(),
        mood=3,
        craving=2,
        used_substance=False,
        device_time=now - timedelta(hours=1),
        device_timezone="America/New_York",
        received_at=now,
        payload_hash="x",
    )
    urge = UrgeEvent.objects.create(enrollment=a, intensity=5, occurred_at=now)
    questionnaire = questionnaire_submit(
        enrollment=a,
        client_id=uuid.uuid4(),
        instrument="phq9",
        answers=PHQ9_ANSWERS,
        device_time=now,
        device_timezone="America/New_York",
    ).response
    FavoriteExercise.objects.create(enrollment=a, exercise=library[0])
    practice = ExercisePractice.objects.create(
        enrollment=a,
        exercise=library[0],
        craving_before=6,
        craving_after=3,
        helpfulness=4,
        practiced_at=now,
    )
    assignment = ExerciseAssignment.objects.create(
        enrollment=a, exercise=library[1], assigned_by=care_team
    )
    contact = ContactFactory(enrollment=a)
    session = SessionFactory(program=program, kind="individual_therapy")
    session.patients.set([a])
    past = SessionFactory(
        program=program, starts_at=now - timedelta(days=1), ends_at=now - timedelta(hours=21)
    )
    past.patients.set([a])
    Attendance.objects.create(
        session=past,
        enrollment=a,
        status=AttendanceStatus.PRESENT,
        minutes_attended=180,
        recorded_by=care_team,
        recorded_at=now,
    )
    series = SessionSeries.objects.create(
        program=program,
        kind="individual_therapy",
        title="Evening group",
        rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=4",
        start_date=local_today("America/New_York"),
        start_time=time(18, 0),
        duration_minutes=180,
        timezone="America/New_York",
    )
    series.patients.set([a])
    flag = Flag.objects.create(
        enrollment=a,
        kind=FlagKind.HIGH_CRAVING,
        severity=Severity.WARNING,
        window_key="2026-01-01",
        created_at=now,
    )
    resolved_flag = Flag.objects.create(
        enrollment=a,
        kind=FlagKind.URGE,
        severity=Severity.WARNING,
        window_key="2026-01-01",
        status=FlagStatus.RESOLVED,
        resolved_at=now,
        resolved_by=care_team,
        outcome_note="Called.",
        created_at=now,
    )
    notification = Notification.objects.create(
        recipient=a.patient,
        kind=NotificationKind.SESSION_REMINDER,
        dedupe_key="perm-test",
        title="Reminder",
        body="Soon.",
        due_at=now,
        state=NotificationState.SENT,
        sent_at=now,
        created_at=now,
    )
    device = DeviceFactory(user=a.patient)
    message = message_send(enrollment=a, sender=a.patient, body="Hello team").message
    return World(
        users={
            "owner": a.patient,
            "other_patient": b.patient,
            "care_team": care_team,
            "other_counselor": other_counselor,
            "supervisor": supervisor,
            "foreign_supervisor": foreign_supervisor,
        },
        a=a,
        b=b,
        refs={
            "library": library,
            "program_exercise": program_exercise,
            "checkin": checkin,
            "urge": urge,
            "questionnaire": questionnaire,
            "practice": practice,
            "assignment": assignment,
            "contact": contact,
            "session": session,
            "past": past,
            "series": series,
            "flag": flag,
            "resolved_flag": resolved_flag,
            "notification": notification,
            "device": device,
            "message": message,
        },
    )


def _results(body: Any) -> list[Any]:
    if isinstance(body, dict) and "results" in body:
        return list(body["results"])
    return list(body)


def ids_include(key: str, want: Callable[[World], Any]) -> Callable[[Any, World], bool]:
    def sees(body: Any, w: World) -> bool:
        return want(w) in {row[key] for row in _results(body)}

    return sees


PHQ9_ANSWERS = {str(i): "1" for i in range(1, 9)} | {"9": "0"}
PROGRAM_SETTING = expect(403, 403, 403, 403, 200, 200)  # a supervisor, of their own program


def questionnaire_body() -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "instrument": "phq9",
        "answers": PHQ9_ANSWERS,
        "device_time": timezone.now().isoformat(),
        "device_timezone": "America/New_York",
    }


def instrument_body() -> dict[str, Any]:
    option = {"code": "y", "score": 1, "text": {"en": "Yes"}}
    return {
        "definition": {
            "code": "mine",
            "version": "1",
            "languages": ["en"],
            "title": {"en": "Mine"},
            "preamble": {"en": "Answer"},
            "source": "Ours",
            "terms": "Ours",
            "option_sets": {"yn": [{**option, "code": "n", "score": 0}, option]},
            "items": [{"id": "a", "text": {"en": "Q"}, "options": "yn"}],
            "scales": [{"id": "t", "items": ["a"], "method": "sum"}],
            "total": "t",
        }
    }


def checkin_body(**overrides: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "mood": 4,
        "craving": 2,
        "used_substance": False,
        "device_time": timezone.now().isoformat(),
        "device_timezone": "America/New_York",
        **overrides,
    }


def schedule_body() -> dict[str, Any]:
    return {"opens_at": "17:00", "due_by": "21:00", "days_of_week": [1, 3, 5], "grace_minutes": 30}


def session_body() -> dict[str, Any]:
    start = timezone.now() + timedelta(days=3)
    return {
        "kind": "group_therapy",
        "title": "Relapse prevention",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=3)).isoformat(),
    }


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    url: Callable[[World], str]
    expected: dict[str, int | str]
    body: Callable[[World], Any] | None = None
    sees: Callable[[Any, World], bool] | None = None
    route: str = ""  # the URL pattern it covers, for the coverage check

    def __str__(self) -> str:
        return self.name


def url(template: str) -> Callable[[World], str]:
    return lambda w: "/api/v1/" + template.format(w=w)


ROWS: list[Row] = [
    # --- the patient's own space -----------------------------------------------------
    Row("me", "get", url("me/"), expect(200, 200, 200, 200, 200, 200), route="me/"),
    Row(
        "my-schedule get",
        "get",
        url("me/checkin-schedule/"),
        me_endpoint(200, 404),  # B has no schedule: B never sees A's
        route="me/checkin-schedule/",
    ),
    Row(
        "my-schedule put",
        "put",
        url("me/checkin-schedule/"),
        me_endpoint(200, 200),
        body=lambda w: schedule_body(),
    ),
    Row(
        "my-support",
        "get",
        url("me/support/"),
        me_endpoint(SEE, HIDE),
        sees=lambda body, w: w.contact.id in {c["id"] for c in body["support_contacts"]},
        route="me/support/",
    ),
    Row(
        "my-favorites",
        "get",
        url("me/favorites/"),
        me_endpoint(SEE, HIDE),
        sees=ids_include("id", lambda w: w.library[0].id),
        route="me/favorites/",
    ),
    # --- check-ins and urges -----------------------------------------------------------
    Row(
        "checkins list",
        "get",
        url("checkins/"),
        PATIENT_RECORDS,
        sees=ids_include("id", lambda w: str(w.checkin.client_id)),
        route="checkins/",
    ),
    Row(
        "checkins create",
        "post",
        url("checkins/"),
        me_endpoint(201, 201),
        body=lambda w: checkin_body(),
    ),
    Row(
        "checkin detail",
        "get",
        url("checkins/{w.checkin.client_id}/"),
        PATIENT_RECORD,
        route="checkins/<uuid:checkin_id>/",
    ),
    Row(
        "urges list",
        "get",
        url("urges/"),
        PATIENT_RECORDS,
        sees=ids_include("id", lambda w: w.urge.id),
        route="urges/",
    ),
    Row("urges create", "post", url("urges/"), me_endpoint(201, 201), body=lambda w: {}),
    # --- questionnaires ----------------------------------------------------------------
    Row(
        "my due questionnaires",
        "get",
        url("me/questionnaires/"),
        me_endpoint(200, 200),
        route="me/questionnaires/",
    ),
    Row(
        "my questionnaire",
        "get",
        url("me/questionnaires/phq9/"),
        me_endpoint(200, 200),
        route="me/questionnaires/<str:instrument>/",
    ),
    Row(
        "questionnaire responses list",
        "get",
        url("questionnaire-responses/"),
        PATIENT_RECORDS,
        sees=ids_include("id", lambda w: str(w.questionnaire.client_id)),
        route="questionnaire-responses/",
    ),
    Row(
        "questionnaire responses create",
        "post",
        url("questionnaire-responses/"),
        me_endpoint(201, 201),
        body=lambda w: questionnaire_body(),
    ),
    Row(
        "patient questionnaire assign",
        "post",
        url("patients/{w.a.id}/questionnaires/"),
        staff_on(201),
        body=lambda w: {"instrument": "gad7"},
        route="patients/<int:pk>/questionnaires/",
    ),
    Row(
        "patient scores",
        "get",
        url("patients/{w.a.id}/scores/"),
        staff_on(200),
        route="patients/<int:pk>/scores/",
    ),
    Row(
        "program instruments",
        "post",
        url("program/instruments/"),
        expect(403, 403, 403, 403, 201, 201),
        body=lambda w: instrument_body(),
        route="program/instruments/",
    ),
    Row(
        "program instruments list",
        "get",
        url("program/instruments/"),
        expect(403, 403, 200, 200, 200, 200),
    ),
    Row(
        "program questionnaire schedule list",
        "get",
        url("program/questionnaire-schedule/"),
        expect(403, 403, 200, 200, 200, 200),
    ),
    Row(
        "program questionnaire schedule",
        "post",
        url("program/questionnaire-schedule/"),
        PROGRAM_SETTING,
        body=lambda w: {"instrument": "bam", "every_days": 7},
        route="program/questionnaire-schedule/",
    ),
    Row(
        "program settings",
        "get",
        url("program/settings/"),
        expect(403, 403, 200, 200, 200, 200),  # its staff read them
        route="program/settings/",
    ),
    Row(
        "change program settings",
        "patch",
        url("program/settings/"),
        PROGRAM_SETTING,
        body=lambda w: {"craving_threshold": 7},
        route="program/settings/",
    ),
    Row(
        "program questionnaire settings",
        "put",
        url("program/questionnaire-settings/"),
        PROGRAM_SETTING,
        body=lambda w: {"alert_thresholds": {"bam": {"use": 2}}},
        route="program/questionnaire-settings/",
    ),
    Row(
        "questionnaire outcome report",
        "get",
        url("reports/questionnaires/"),
        expect(403, 403, 403, 403, SEE, HIDE),
        sees=lambda body, w: any(r["instrument"] == "phq9" for r in body),
        route="reports/questionnaires/",
    ),
    Row(
        "questionnaires not improving",
        "get",
        url("questionnaires/not-improving/"),
        expect(403, 403, 200, 200, 200, 200),
        route="questionnaires/not-improving/",
    ),
    # --- exercises ---------------------------------------------------------------------
    Row(
        "exercises list",
        "get",
        url("exercises/"),
        expect(SEE, SEE, SEE, SEE, SEE, HIDE),
        sees=ids_include("id", lambda w: w.program_exercise.id),
        route="exercises/",
    ),
    Row(
        "exercises create",
        "post",
        url("exercises/"),
        expect(403, 403, 201, 201, 201, 201),
        body=lambda w: {
            "slug": "box-walk",
            "name": "Box walk",
            "category": "behavioral",
            "summary": "Walk it off.",
            "steps": ["Walk."],
            "duration_minutes": 5,
        },
    ),
    Row(
        "program exercise detail",
        "get",
        url("exercises/{w.program_exercise.id}/"),
        expect(200, 200, 200, 200, 200, 404),
        route="exercises/<int:pk>/",
    ),
    Row(
        "favorite put",
        "put",
        url("exercises/{w.program_exercise.id}/favorite/"),
        me_endpoint(200, 200),
        route="exercises/<int:pk>/favorite/",
    ),
    Row(
        "favorite delete",
        "delete",
        url("exercises/{w.library[0].id}/favorite/"),
        me_endpoint(200, 200),
    ),
    Row(
        "practices list",
        "get",
        url("practices/"),
        PATIENT_RECORDS,
        sees=ids_include("id", lambda w: w.practice.id),
        route="practices/",
    ),
    Row(
        "practices create",
        "post",
        url("practices/"),
        me_endpoint(201, 201),
        body=lambda w: {
            "exercise": w.library[0].id,
            "craving_before": 7,
            "craving_after": 4,
            "helpfulness": 4,
        },
    ),
    Row(
        "assignments list",
        "get",
        url("assignments/"),
        PATIENT_RECORDS,
        sees=ids_include("id", lambda w: w.assignment.id),
        route="assignments/",
    ),
    Row(
        "assignments create",
        "post",
        url("assignments/"),
        staff_on(201),
        body=lambda w: {"patient": w.a.id, "exercise": w.library[2].id},
    ),
    Row(
        "assignment detail",
        "get",
        url("assignments/{w.assignment.id}/"),
        PATIENT_RECORD,
        route="assignments/<int:pk>/",
    ),
    Row("assignment delete", "delete", url("assignments/{w.assignment.id}/"), staff_on(204)),
    # --- support contacts ---------------------------------------------------------------
    Row(
        "contacts list",
        "get",
        url("contacts/"),
        PATIENT_RECORDS,
        sees=ids_include("id", lambda w: w.contact.id),
        route="contacts/",
    ),
    Row(
        "contacts create",
        "post",
        url("contacts/"),
        me_endpoint(201, 201),
        body=lambda w: {"name": "Sam", "relationship": "sponsor", "phone": "+1 555 0101"},
    ),
    Row(
        "contacts reorder",
        "post",
        url("contacts/reorder/"),
        # B cannot name A's contacts: the same 400 as any wrong list of ids.
        me_endpoint(200, 400),
        body=lambda w: {"ids": [w.contact.id]},
        route="contacts/reorder/",
    ),
    Row(
        "contact detail",
        "get",
        url("contacts/{w.contact.id}/"),
        PATIENT_RECORD,
        route="contacts/<int:pk>/",
    ),
    Row(
        "contact patch",
        "patch",
        url("contacts/{w.contact.id}/"),
        own_only(200),
        body=lambda w: {"name": "Renamed"},
    ),
    Row("contact delete", "delete", url("contacts/{w.contact.id}/"), own_only(204)),
    # --- patients (staff) ---------------------------------------------------------------
    Row(
        "patients list",
        "get",
        url("patients/"),
        STAFF_LIST,
        sees=ids_include("id", lambda w: w.a.id),
        route="patients/",
    ),
    Row(
        "patients enroll",
        "post",
        url("patients/"),
        expect(403, 403, 201, 201, 201, 201),
        body=lambda w: {"first_name": "Robin"},
    ),
    Row(
        "patient detail",
        "get",
        url("patients/{w.a.id}/"),
        staff_on(200),
        route="patients/<int:pk>/",
    ),
    Row(
        "patient patch",
        "patch",
        url("patients/{w.a.id}/"),
        staff_on(200),
        body=lambda w: {"has_medication": True},
    ),
    Row(
        "patient change",
        "post",
        url("patients/{w.a.id}/change/"),
        staff_on(200),
        body=lambda w: {"stage": "early_recovery"},
        route="patients/<int:pk>/change/",
    ),
    Row(
        "patient history",
        "get",
        url("patients/{w.a.id}/history/"),
        staff_on(200),
        route="patients/<int:pk>/history/",
    ),
    Row(
        "patient discharge",
        "post",
        url("patients/{w.a.id}/discharge/"),
        staff_on(200),
        body=lambda w: {"reason": "completed"},
        route="patients/<int:pk>/discharge/",
    ),
    Row(
        "patient readmit",
        "post",
        url("patients/{w.a.id}/readmit/"),
        staff_on(400),  # A is active: only a discharged patient is readmitted
        body=lambda w: {"reason": "back"},
        route="patients/<int:pk>/readmit/",
    ),
    Row(
        "patient code",
        "post",
        url("patients/{w.a.id}/enrollment-code/"),
        staff_on(201),
        route="patients/<int:pk>/enrollment-code/",
    ),
    Row(
        "patient schedule get",
        "get",
        url("patients/{w.a.id}/checkin-schedule/"),
        staff_on(200),
        route="patients/<int:pk>/checkin-schedule/",
    ),
    Row(
        "patient schedule put",
        "put",
        url("patients/{w.a.id}/checkin-schedule/"),
        staff_on(200),
        body=lambda w: schedule_body(),
    ),
    Row(
        "patient timeline",
        "get",
        url("patients/{w.a.id}/timeline/"),
        staff_on(200),
        route="patients/<int:pk>/timeline/",
    ),
    Row(
        "attendance summary",
        "get",
        url("attendance/summary/?patient={w.a.id}"),
        # A patient always gets their own summary, whatever id they pass.
        expect(SEE, HIDE, SEE, 404, SEE, 404),
        sees=lambda body, w: body["counts"]["present"] == 1,
        route="attendance/summary/",
    ),
    # --- sessions and series ------------------------------------------------------------
    Row(
        "sessions list",
        "get",
        url("sessions/"),
        expect(SEE, HIDE, SEE, SEE, SEE, HIDE),
        sees=ids_include("id", lambda w: w.session.id),
        route="sessions/",
    ),
    Row(
        "sessions create",
        "post",
        url("sessions/"),
        expect(403, 403, 201, 201, 201, 201),
        body=lambda w: session_body(),
    ),
    Row(
        "session detail",
        "get",
        url("sessions/{w.session.id}/"),
        expect(200, 404, 200, 200, 200, 404),
        route="sessions/<int:pk>/",
    ),
    Row(
        "session patch",
        "patch",
        url("sessions/{w.session.id}/"),
        staff_on(200),
        body=lambda w: {"title": "Renamed"},
    ),
    Row(
        "session cancel",
        "post",
        url("sessions/{w.session.id}/cancel/"),
        staff_on(200),
        route="sessions/<int:pk>/cancel/",
    ),
    Row(
        "attendance list",
        "get",
        url("sessions/{w.past.id}/attendance/"),
        # The session is the program's; A's attendance is for A's counselors.
        expect(403, 403, SEE, HIDE, SEE, 404),
        sees=lambda body, w: w.a.id in {row["patient"] for row in body},
        route="sessions/<int:pk>/attendance/",
    ),
    Row(
        "attendance record",
        "post",
        url("sessions/{w.session.id}/attendance/"),
        staff_on(201),
        body=lambda w: {"patient": w.a.id, "status": "present"},
    ),
    Row(
        "series list",
        "get",
        url("series/"),
        expect(403, 403, SEE, SEE, SEE, HIDE),
        sees=ids_include("id", lambda w: w.series.id),
        route="series/",
    ),
    Row(
        "series create",
        "post",
        url("series/"),
        expect(403, 403, 201, 201, 201, 201),
        body=lambda w: {
            "kind": "group_therapy",
            "title": "Morning group",
            "rrule": "FREQ=WEEKLY;BYDAY=TU;COUNT=2",
            "start_date": local_today("America/New_York").isoformat(),
            "start_time": "09:00",
            "duration_minutes": 120,
            "timezone": "America/New_York",
        },
    ),
    Row(
        "series cancel rest",
        "post",
        url("series/{w.series.id}/cancel-rest/"),
        staff_on(200),
        body=lambda w: {"from_instant": timezone.now().isoformat()},
        route="series/<int:pk>/cancel-rest/",
    ),
    Row(
        "series move rest",
        "post",
        url("series/{w.series.id}/move-rest/"),
        staff_on(201),
        body=lambda w: {
            "from_date": (local_today("America/New_York") + timedelta(days=7)).isoformat(),
            "start_time": "19:00",
            "duration_minutes": 120,
        },
        route="series/<int:pk>/move-rest/",
    ),
    # --- dashboard and flags ------------------------------------------------------------
    Row(
        "caseload",
        "get",
        url("dashboard/caseload/"),
        STAFF_LIST,
        sees=ids_include("patient", lambda w: w.a.id),
        route="dashboard/caseload/",
    ),
    Row(
        "flags list",
        "get",
        url("flags/"),
        STAFF_LIST,
        sees=ids_include("id", lambda w: w.flag.id),
        route="flags/",
    ),
    Row("flag detail", "get", url("flags/{w.flag.id}/"), staff_on(200), route="flags/<int:pk>/"),
    Row(
        "flag acknowledge",
        "post",
        url("flags/{w.flag.id}/acknowledge/"),
        staff_on(200),
        route="flags/<int:pk>/acknowledge/",
    ),
    Row(
        "flag assign",
        "post",
        url("flags/{w.flag.id}/assign/"),
        staff_on(200),
        body=lambda w: {"assignee": w.users["care_team"].id},
        route="flags/<int:pk>/assign/",
    ),
    Row(
        "flag resolve",
        "post",
        url("flags/{w.flag.id}/resolve/"),
        staff_on(200),
        body=lambda w: {"outcome_note": "Called; safe."},
        route="flags/<int:pk>/resolve/",
    ),
    Row(
        "flag reopen",
        "post",
        url("flags/{w.resolved_flag.id}/reopen/"),
        staff_on(200),
        body=lambda w: {"note": "Craving back."},
        route="flags/<int:pk>/reopen/",
    ),
    # --- notifications: personal to each user ---------------------------------------
    Row(
        "device register",
        "post",
        url("devices/"),
        expect(200, 200, 200, 200, 200, 200),
        body=lambda w: {"address": f"fcm-{uuid.uuid4().hex}", "platform": "android"},
        route="devices/",
    ),
    Row(
        "device unregister",
        "post",
        url("devices/unregister/"),
        expect(204, 204, 204, 204, 204, 204),
        body=lambda w: {"address": w.device.address},
        route="devices/unregister/",
    ),
    Row(
        "inbox",
        "get",
        url("notifications/"),
        expect(SEE, HIDE, HIDE, HIDE, HIDE, HIDE),
        sees=ids_include("id", lambda w: w.notification.id),
        route="notifications/",
    ),
    Row(
        "unread count",
        "get",
        url("notifications/unread-count/"),
        expect(SEE, HIDE, HIDE, HIDE, HIDE, HIDE),
        sees=lambda body, w: body["unread"] == 1,
        route="notifications/unread-count/",
    ),
    Row(
        "preferences get",
        "get",
        url("notifications/preferences/"),
        expect(200, 200, 200, 200, 200, 200),
        route="notifications/preferences/",
    ),
    Row(
        "preferences put",
        "put",
        url("notifications/preferences/"),
        expect(200, 200, 200, 200, 200, 200),
        body=lambda w: {"muted_kinds": ["checkin_nudge"]},
    ),
    Row(
        "inbox item",
        "get",
        url("notifications/{w.notification.id}/"),
        expect(200, 404, 404, 404, 404, 404),
        route="notifications/<int:pk>/",
    ),
    Row(
        "inbox mark read",
        "post",
        url("notifications/{w.notification.id}/read/"),
        expect(200, 404, 404, 404, 404, 404),
        route="notifications/<int:pk>/read/",
    ),
    Row(
        "inbox mark received",
        "post",
        url("notifications/{w.notification.id}/received/"),
        expect(204, 404, 404, 404, 404, 404),
        route="notifications/<int:pk>/received/",
    ),
    Row(
        "logout",
        "post",
        url("auth/logout/"),
        # A refresh token that is no token still ends the caller's sign-in: 204, never 500.
        expect(204, 204, 204, 204, 204, 204),
        body=lambda w: {"refresh": "not-a-token"},
        route="auth/logout/",
    ),
]


def _routes(patterns: list[Any]) -> set[str]:
    return {str(p.pattern) for p in patterns if isinstance(p, URLPattern)}


ROUTES = _routes(recovery_urls.urlpatterns) | _routes(notification_urls.urlpatterns)

# The conversation with the care team.
ROWS += [
    Row(
        "my conversation",
        "get",
        url("me/conversation/"),
        me_endpoint(200, 200),
        route="me/conversation/",
    ),
    Row(
        "my messages",
        "get",
        url("me/conversation/messages/"),
        me_endpoint(SEE, HIDE),
        sees=ids_include("id", lambda w: w.message.id),
        route="me/conversation/messages/",
    ),
    Row(
        "my messages send",
        "post",
        url("me/conversation/messages/"),
        me_endpoint(201, 201),
        body=lambda w: {"body": "Are you there?"},
    ),
    Row(
        "my messages read",
        "post",
        url("me/conversation/read/"),
        me_endpoint(200, 400),  # B's conversation has no such message
        body=lambda w: {"up_to": w.message.id},
        route="me/conversation/read/",
    ),
    Row(
        "office hours",
        "get",
        url("program/office-hours/"),
        expect(403, 403, 200, 200, 200, 200),
        route="program/office-hours/",
    ),
    Row(
        "office hours change",
        "put",
        url("program/office-hours/"),
        expect(403, 403, 403, 403, 200, 200),  # each supervisor their own program's
        body=lambda w: {"days": [1, 2, 3, 4, 5], "opens_at": "08:00", "closes_at": "18:00"},
    ),
    Row(
        "conversations",
        "get",
        url("conversations/"),
        expect(403, 403, SEE, HIDE, SEE, HIDE),
        sees=lambda body, w: w.a.id in {c["patient"] for c in body["conversations"]},
        route="conversations/",
    ),
    Row(
        "patient conversation",
        "get",
        url("patients/{w.a.id}/conversation/"),
        PATIENT_RECORD,
        route="patients/<int:pk>/conversation/",
    ),
    Row(
        "patient messages",
        "get",
        url("patients/{w.a.id}/conversation/messages/"),
        PATIENT_RECORD,
        route="patients/<int:pk>/conversation/messages/",
    ),
    Row(
        "patient messages send",
        "post",
        url("patients/{w.a.id}/conversation/messages/"),
        expect(201, 404, 201, 404, 201, 404),
        body=lambda w: {"body": "We are here."},
    ),
    Row(
        "patient messages read",
        "post",
        url("patients/{w.a.id}/conversation/read/"),
        PATIENT_RECORD,
        body=lambda w: {"up_to": w.message.id},
        route="patients/<int:pk>/conversation/read/",
    ),
]

# The safety plan, written together.
ROWS += [
    Row(
        "my safety plan",
        "get",
        url("me/safety-plan/"),
        me_endpoint(200, 200),
        route="me/safety-plan/",
    ),
    Row(
        "my safety plan save",
        "put",
        url("me/safety-plan/"),
        me_endpoint(200, 200),
        body=lambda w: {"base_version": 0, "sections": {}},
    ),
    Row(
        "my safety plan history",
        "get",
        url("me/safety-plan/history/"),
        me_endpoint(200, 200),
        route="me/safety-plan/history/",
    ),
    Row(
        "patient safety plan",
        "get",
        url("patients/{w.a.id}/safety-plan/"),
        PATIENT_RECORD,
        route="patients/<int:pk>/safety-plan/",
    ),
    Row(
        "patient safety plan save",
        "put",
        url("patients/{w.a.id}/safety-plan/"),
        PATIENT_RECORD,
        body=lambda w: {"base_version": 0, "sections": {}},
    ),
    Row(
        "patient safety plan history",
        "get",
        url("patients/{w.a.id}/safety-plan/history/"),
        PATIENT_RECORD,
        route="patients/<int:pk>/safety-plan/history/",
    ),
]

# Recovery days.
ROWS += [
    Row("my recovery", "get", url("me/recovery/"), me_endpoint(200, 200), route="me/recovery/"),
    Row(
        "my recovery settings",
        "patch",
        url("me/recovery/"),
        me_endpoint(200, 200),
        body=lambda w: {"hidden": False},
    ),
    Row(
        "patient recovery",
        "get",
        url("patients/{w.a.id}/recovery/"),
        PATIENT_RECORD,
        route="patients/<int:pk>/recovery/",
    ),
]

# Second factor for staff sign-in, where it is wired up.
ROWS += [
    row
    for row in [
        Row(
            "totp setup",
            "post",
            url("auth/totp/setup/"),
            expect(SELF, SELF, SELF, SELF, SELF, SELF),
            body=lambda w: {},
            route="auth/totp/setup/",
        ),
        Row(
            "totp confirm",
            "post",
            url("auth/totp/confirm/"),
            expect(SELF, SELF, SELF, SELF, SELF, SELF),
            body=lambda w: {"code": "000000"},
            route="auth/totp/confirm/",
        ),
    ]
    if row.route in ROUTES
]

# Staff and care teams: the program's supervisors manage them (counselors read a care
# team of a patient in their reach); another program's are 404.
SUPERVISOR_ONLY = expect(403, 403, 403, 403, 200, 404)


def _invitation_url(action: str) -> Callable[[World], str]:
    def make(w: World) -> str:
        from recovery.models import StaffInvitation

        invitation = StaffInvitation.objects.create(
            program_id=w.a.program_id,
            email=f"{action}@example.org",
            role="counselor",
            token_hash=uuid.uuid4().hex,
            expires_at=timezone.now() + timedelta(days=1),
        )
        return f"/api/v1/staff/invitations/{invitation.id}/{action}/"

    return make


ROWS += [
    Row(
        "staff list",
        "get",
        url("staff/"),
        expect(403, 403, 403, 403, SEE, HIDE),
        sees=ids_include("id", lambda w: w.users["care_team"].id),
        route="staff/",
    ),
    Row(
        "staff detail",
        "get",
        url("staff/{w.users[care_team].id}/"),
        SUPERVISOR_ONLY,
        route="staff/<int:pk>/",
    ),
    Row(
        "staff deactivate",
        "post",
        url("staff/{w.users[other_counselor].id}/deactivate/"),
        SUPERVISOR_ONLY,
        route="staff/<int:pk>/deactivate/",
    ),
    Row(
        "staff reactivate",
        "post",
        url("staff/{w.users[other_counselor].id}/reactivate/"),
        SUPERVISOR_ONLY,
        route="staff/<int:pk>/reactivate/",
    ),
    Row(
        "staff invitations",
        "get",
        url("staff/invitations/"),
        expect(403, 403, 403, 403, 200, 200),
        route="staff/invitations/",
    ),
    Row(
        "staff invite",
        "post",
        url("staff/invitations/"),
        expect(403, 403, 403, 403, 201, 201),
        body=lambda w: {"email": "invitee@example.org", "role": "counselor"},
    ),
    Row(
        "staff invitation reissue",
        "post",
        _invitation_url("reissue"),
        SUPERVISOR_ONLY,
        route="staff/invitations/<int:pk>/reissue/",
    ),
    Row(
        "staff invitation revoke",
        "post",
        _invitation_url("revoke"),
        SUPERVISOR_ONLY,
        route="staff/invitations/<int:pk>/revoke/",
    ),
    Row(
        "care team",
        "get",
        url("patients/{w.a.id}/care-team/"),
        expect(403, 403, 200, 404, 200, 404),
        route="patients/<int:pk>/care-team/",
    ),
    Row(
        "care team set",
        "put",
        url("patients/{w.a.id}/care-team/"),
        expect(403, 403, 403, 404, 200, 404),
        body=lambda w: {"primary_counselor": w.users["care_team"].id, "members": []},
    ),
]

# Endpoints open to anyone by design (they hand out tokens).
PUBLIC_ROUTES = {"auth/token/", "auth/token/refresh/", "auth/enrollment-code/"}

CASES = [pytest.param(row, actor, id=f"{row.name}-{actor}") for row in ROWS for actor in ACTORS]


def _call(row: Row, actor: str, w: World) -> Any:
    client = APIClient() if actor == "anonymous" else client_for(w.users[actor])
    body = row.body(w) if row.body else None
    return getattr(client, row.method)(row.url(w), body, format="json")


@pytest.mark.parametrize(("row", "actor"), CASES)
def test_permission_matrix(world: World, row: Row, actor: str) -> None:
    expected = row.expected[actor]
    response = _call(row, actor, world)
    if expected in (SEE, HIDE):
        assert response.status_code == 200, response.content
        assert row.sees is not None
        assert row.sees(response.json(), world) is (expected == SEE)
        return
    if expected == SELF:
        assert response.status_code < 500, response.content
        return
    assert response.status_code == expected, response.content
    if isinstance(expected, int) and expected >= 400:
        error = response.json()["error"]
        assert set(error) == {"code", "message", "fields"}


def test_every_url_is_in_the_table() -> None:
    """Every route of recovery/urls.py and notifications/urls.py has a row."""
    covered = {row.route for row in ROWS if row.route}
    assert ROUTES - covered - PUBLIC_ROUTES == set(), "add a row to ROWS for each new endpoint"


def test_every_non_public_route_refuses_anonymous_callers(world: World) -> None:
    """Belt and braces: a route added without a row still may not answer anonymously."""
    anonymous = APIClient()
    for row in ROWS:
        response = getattr(anonymous, row.method)(row.url(world), {}, format="json")
        assert response.status_code == 401, row.name


# --- what a refused write leaves behind ---------------------------------------------


def test_other_patient_cannot_change_or_delete_a_contact(world: World) -> None:
    intruder = client_for(world.b.patient)
    url_ = f"/api/v1/contacts/{world.contact.id}/"
    assert intruder.patch(url_, {"name": "Mallory"}, format="json").status_code == 404
    assert intruder.delete(url_).status_code == 404
    world.contact.refresh_from_db()
    assert world.contact.name != "Mallory"


def test_other_users_cannot_unregister_the_owners_device(world: World) -> None:
    for actor in ("other_patient", "care_team", "supervisor"):
        client_for(world.users[actor]).post(
            "/api/v1/devices/unregister/", {"address": world.device.address}, format="json"
        )
    assert Device.objects.filter(id=world.device.id).exists()


def test_refused_staff_writes_change_nothing(world: World) -> None:
    outsider = client_for(world.users["other_counselor"])
    outsider.post(f"/api/v1/patients/{world.a.id}/discharge/", {}, format="json")
    outsider.post(f"/api/v1/flags/{world.flag.id}/resolve/", {"outcome_note": "x"}, format="json")
    outsider.delete(f"/api/v1/assignments/{world.assignment.id}/")
    world.a.refresh_from_db()
    world.flag.refresh_from_db()
    assert world.a.status == "active"
    assert world.flag.status == FlagStatus.OPEN
    assert ExerciseAssignment.objects.filter(id=world.assignment.id).exists()


def test_foreign_supervisor_cannot_put_another_programs_patient_on_a_session(
    world: World,
) -> None:
    response = client_for(world.users["foreign_supervisor"]).post(
        "/api/v1/sessions/", {**session_body(), "patients": [world.a.id]}, format="json"
    )
    assert response.status_code == 400
    assert "patients" in response.json()["error"]["fields"]
    assert not TreatmentSession.objects.filter(patients=world.a, title="Relapse prevention")


def test_foreign_staff_cannot_assign_another_programs_exercise(world: World) -> None:
    elsewhere = world.users["foreign_supervisor"].program
    mine = EnrollmentFactory(program=elsewhere, primary_counselor=world.users["foreign_supervisor"])
    response = client_for(world.users["foreign_supervisor"]).post(
        "/api/v1/assignments/",
        {"patient": mine.id, "exercise": world.program_exercise.id},
        format="json",
    )
    assert response.status_code == 400
    assert not ExerciseAssignment.objects.filter(enrollment=mine).exists()


def test_a_patient_cannot_favourite_or_practise_another_programs_exercise(world: World) -> None:
    elsewhere = Exercise.objects.create(
        program=world.users["foreign_supervisor"].program,
        slug="theirs",
        name="Theirs",
        category="behavioral",
        summary="Not yours.",
        steps=["No."],
        duration_minutes=5,
    )
    patient = client_for(world.a.patient)
    assert patient.put(f"/api/v1/exercises/{elsewhere.id}/favorite/").status_code == 404
    practice = patient.post(
        "/api/v1/practices/",
        {"exercise": elsewhere.id, "craving_before": 5, "craving_after": 3, "helpfulness": 3},
        format="json",
    )
    assert practice.status_code == 400
    assert not ExercisePractice.objects.filter(exercise=elsewhere).exists()
    # Another program's exercise answers exactly like an id that does not exist.
    missing = patient.post(
        "/api/v1/practices/",
        {"exercise": 999_999, "craving_before": 5, "craving_after": 3, "helpfulness": 3},
        format="json",
    )
    shape = practice.json()["error"]["fields"]["exercise"][0].replace(str(elsewhere.id), "N")
    assert shape == missing.json()["error"]["fields"]["exercise"][0].replace("999999", "N")


def test_staff_cannot_read_a_patients_own_schedule_through_me(world: World) -> None:
    assert CheckInSchedule.objects.filter(enrollment=world.a).exists()
    response = client_for(world.users["care_team"]).get("/api/v1/me/checkin-schedule/")
    assert response.status_code == 403


def test_session_for_patient_hides_the_other_patients(world: World) -> None:
    world.session.patients.add(world.b)
    body = client_for(world.a.patient).get(f"/api/v1/sessions/{world.session.id}/").json()
    assert "patients" not in body
    assert "facilitator" not in body


def test_supervisor_of_another_program_sees_no_contacts_of_ours(world: World) -> None:
    body = client_for(world.users["foreign_supervisor"]).get("/api/v1/contacts/").json()
    assert body["results"] == []
    assert SupportContact.objects.filter(enrollment=world.a).exists()


def test_the_same_client_id_from_two_patients_does_not_break_the_detail(world: World) -> None:
    """Client ids are unique per patient only; staff who see both must not get a 500."""
    now = timezone.now()
    CheckIn.objects.create(
        enrollment=world.b,
        client_id=world.checkin.client_id,
        mood=2,
        craving=1,
        used_substance=False,
        device_time=now,
        device_timezone="America/New_York",
        received_at=now,
        payload_hash="y",
    )
    supervisor = client_for(world.users["supervisor"])
    url_ = f"/api/v1/checkins/{world.checkin.client_id}/"
    ambiguous = supervisor.get(url_)
    assert ambiguous.status_code == 400
    assert "patient" in ambiguous.json()["error"]["fields"]
    mine = supervisor.get(url_, {"patient": world.a.id})
    assert mine.status_code == 200
    assert mine.json()["patient"] == world.a.id
    # Each patient and a counselor who sees only one of them are not ambiguous.
    assert client_for(world.a.patient).get(url_).json()["patient"] == world.a.id
    assert client_for(world.b.patient).get(url_).json()["patient"] == world.b.id
    assert client_for(world.users["care_team"]).get(url_).json()["patient"] == world.a.id


# --- edges of "who sees what" -------------------------------------------------------


def test_staff_without_a_program_see_nobody(world: World) -> None:
    adrift = CounselorFactory(program=None)
    client = client_for(adrift)
    assert client.get("/api/v1/checkins/").json()["results"] == []
    assert client.get("/api/v1/sessions/").json()["results"] == []
    # Staff-only endpoints refuse them outright.
    assert client.get("/api/v1/patients/").status_code == 403


def test_a_deactivated_user_sees_nothing(world: World) -> None:
    user = world.users["supervisor"]
    assert enrollments_visible_to(user).exists()
    user.is_active = False
    assert not enrollments_visible_to(user).exists()


def test_only_a_patient_with_an_enrollment_has_their_own_records(world: World) -> None:
    with pytest.raises(Http404):
        enrollment_for_patient_user(world.users["care_team"])
    orphan = PatientUserFactory(program=world.a.program)
    with pytest.raises(Http404):
        enrollment_for_patient_user(orphan)
    response = client_for(orphan).post("/api/v1/checkins/", checkin_body(), format="json")
    assert response.status_code == 404
    assert CheckIn.objects.count() == 1  # the world's own


def test_logout_leaves_someone_elses_refresh_token_alone(world: World) -> None:
    theirs = RefreshToken.for_user(world.b.patient)
    response = client_for(world.a.patient).post(
        "/api/v1/auth/logout/", {"refresh": str(theirs)}, format="json"
    )
    assert response.status_code == 204  # the caller's own sign-in ended
    refreshed = APIClient().post(
        "/api/v1/auth/token/refresh/", {"refresh": str(theirs)}, format="json"
    )
    assert refreshed.status_code == 200


def test_logout_unregisters_this_device(world: World) -> None:
    refresh = RefreshToken.for_user(world.a.patient)
    response = client_for(world.a.patient).post(
        "/api/v1/auth/logout/",
        {"refresh": str(refresh), "device_address": world.device.address},
        format="json",
    )
    assert response.status_code == 204
    assert not Device.objects.filter(id=world.device.id).exists()
