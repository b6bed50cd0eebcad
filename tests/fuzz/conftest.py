"""A world of data for the schema fuzz run, and the ids it hands to the generator.

Each fuzzed operation gets a fresh world (the test database is flushed between tests):
one program with a counselor, a supervisor and two enrolled patients (the counselor is
on the care team of the first only), and a second program with a patient of its own.
Every enrollment has the full set of records the API serves: check-ins, an urge, support
contacts, a consent, practice, a favourite, an assignment, sessions (with attendance), a
series, flags (open and resolved), a plan with goals, progress and a comment, a drug
screen, a medication, a mutual-help meeting and notifications.

`ACTIVE` holds the world of the running test, so the generation hooks of
test_schema_fuzz.py can put real ids (someone's own, someone else's, another program's)
into path and query parameters, next to whatever the schema alone would generate.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from backend.timezones import local_today
from notifications.models import (
    Notification,
    NotificationPreference,
    NotificationState,
)
from recovery.dates import enrollment_today
from recovery.exercise_library import LIBRARY, library_texts
from recovery.models import (
    Attendance,
    AttendanceStatus,
    CheckIn,
    Consent,
    DrugScreen,
    DrugScreenResult,
    EnrollmentChange,
    Exercise,
    ExerciseAssignment,
    ExercisePractice,
    FavoriteExercise,
    Flag,
    FlagKind,
    FlagStatus,
    GoalProgressEntry,
    IncentiveProtocol,
    Medication,
    MutualHelpMeeting,
    PlanComment,
    PlanGoal,
    Program,
    SessionSeries,
    Severity,
    SupportContact,
    TreatmentPlan,
    TreatmentSession,
    UrgeEvent,
    User,
)
from recovery.models.enrollment import Enrollment
from recovery.notification_kinds import NotificationKind
from recovery.services.messages import message_send
from recovery.services.questionnaires import questionnaire_submit
from tests.factories import (
    ContactFactory,
    CounselorFactory,
    DeviceFactory,
    EnrollmentFactory,
    ProgramFactory,
    ScheduleFactory,
    SessionFactory,
    SupervisorFactory,
)

ROLES = ("anonymous", "patient", "counselor", "supervisor")


@dataclass
class World:
    """Who signs in, and the ids of what exists, by the URL segment that names it."""

    users: dict[str, User]
    ids: dict[str, list[Any]] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        """What `role` sends: a bearer access token, nothing for anonymous."""
        user = self.users.get(role)
        if user is None:
            return {}
        if role not in self._tokens:
            self._tokens[role] = f"Bearer {AccessToken.for_user(user)}"
        return {"Authorization": self._tokens[role]}

    def role_of(self, authorization: str | None) -> str:
        """The role whose token a request carried (`anonymous` without one)."""
        for role in self.users:
            if authorization is not None and self.headers(role)["Authorization"] == authorization:
                return role
        return "anonymous"


# The world of the test that is running (None between tests).
ACTIVE: World | None = None


def _ensure_library() -> list[Exercise]:
    """The shared library comes from a data migration, which a flush between transactional
    tests removes: put it back when it is gone."""
    if not Exercise.objects.filter(program__isnull=True).exists():
        Exercise.objects.bulk_create(
            Exercise(program=None, **entry, **library_texts(str(entry["slug"])))
            for entry in LIBRARY
        )
    return list(Exercise.objects.filter(program__isnull=True).order_by("id")[:3])


def _populate(
    enrollment: Enrollment,
    counselor: User,
    library: list[Exercise],
    ids: dict[str, list[Any]],
    now: datetime,
    tag: str,
) -> None:
    """Every kind of record the API serves, for one enrollment; their ids go into `ids`."""

    def add(segment: str, value: Any) -> None:
        ids.setdefault(segment, []).append(value)

    program = enrollment.program
    today = enrollment_today(enrollment, now)  # the patient's date, not the UTC one
    ScheduleFactory(enrollment=enrollment)
    for hours_ago in (30, 6):
        checkin = CheckIn.objects.create(
            enrollment=enrollment,
            client_id=uuid.uuid4(),
            mood=3,
            craving=4,
            used_substance=False,
            medication_taken=True,
            hours_slept=Decimal("7.5"),
            note="Rough afternoon.",
            device_time=now - timedelta(hours=hours_ago),
            device_timezone=enrollment.timezone,
            received_at=now - timedelta(hours=hours_ago),
            payload_hash="fuzz",
        )
        add("checkins", str(checkin.client_id))
    UrgeEvent.objects.create(enrollment=enrollment, intensity=7, occurred_at=now)
    for days_ago, answer in ((10, "2"), (1, "1")):
        questionnaire_submit(
            enrollment=enrollment,
            client_id=uuid.uuid4(),
            instrument="phq9",
            answers={str(i): answer for i in range(1, 9)} | {"9": "0"},
            device_time=now - timedelta(days=days_ago),
            device_timezone=enrollment.timezone,
        )
    message_send(enrollment=enrollment, sender=enrollment.patient, body=f"Hello from {tag}")

    contacts = [
        cast(
            SupportContact,
            ContactFactory(enrollment=enrollment, email=f"sponsor-{tag}@example.org"),
        ),
        cast(SupportContact, ContactFactory(enrollment=enrollment, relationship="family")),
    ]
    for contact in contacts:
        add("contacts", contact.id)
    consent = Consent.objects.create(
        enrollment=enrollment,
        disclosing_party=program.name,
        recipient=contacts[0],
        events=["urge"],
        purpose="Support in recovery",
        expires_at=now + timedelta(days=90),
        revocation_acknowledged=True,
        signature="Pat Example",
        signed_at=now - timedelta(days=1),
    )
    add("consents", consent.id)

    FavoriteExercise.objects.create(enrollment=enrollment, exercise=library[0])
    ExercisePractice.objects.create(
        enrollment=enrollment,
        exercise=library[0],
        craving_before=6,
        craving_after=3,
        helpfulness=4,
        practiced_at=now - timedelta(hours=2),
    )
    assignment = ExerciseAssignment.objects.create(
        enrollment=enrollment, exercise=library[1], assigned_by=counselor
    )
    add("assignments", assignment.id)

    upcoming = cast(TreatmentSession, SessionFactory(program=program, facilitator=counselor))
    upcoming.patients.set([enrollment])
    past = cast(
        TreatmentSession,
        SessionFactory(
            program=program, starts_at=now - timedelta(days=1), ends_at=now - timedelta(hours=21)
        ),
    )
    past.patients.set([enrollment])
    Attendance.objects.create(
        session=past,
        enrollment=enrollment,
        status=AttendanceStatus.PRESENT,
        minutes_attended=180,
        recorded_by=counselor,
        recorded_at=now,
    )
    add("sessions", upcoming.id)
    add("sessions", past.id)
    series = SessionSeries.objects.create(
        program=program,
        kind="group_therapy",
        title="Evening group",
        rrule="FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6",
        start_date=today,
        start_time=time(18, 0),
        duration_minutes=180,
        timezone=program.timezone,
    )
    series.patients.set([enrollment])
    add("series", series.id)

    open_flag = Flag.objects.create(
        enrollment=enrollment,
        kind=FlagKind.HIGH_CRAVING,
        severity=Severity.WARNING,
        window_key=f"{tag}-open",
        created_at=now - timedelta(hours=1),
    )
    resolved_flag = Flag.objects.create(
        enrollment=enrollment,
        kind=FlagKind.URGE,
        severity=Severity.URGENT,
        window_key=f"{tag}-resolved",
        status=FlagStatus.RESOLVED,
        resolved_at=now,
        resolved_by=counselor,
        outcome_note="Called; safe.",
        created_at=now - timedelta(hours=3),
    )
    add("flags", open_flag.id)
    add("flags", resolved_flag.id)

    plan = TreatmentPlan.objects.create(
        enrollment=enrollment,
        summary="Stay sober, rebuild routine",
        created_by=counselor,
        created_at=now,
        content_changed_at=now,
    )
    add("plans", plan.id)
    for metric, domain in (
        ("manual", "housing"),
        ("mutual_help_meetings_per_week", "peer_support"),
    ):
        goal = PlanGoal.objects.create(
            plan=plan,
            domain=domain,
            description=f"Goal measured by {metric}",
            metric=metric,
            target_value=Decimal("2"),
            due_date=today + timedelta(days=60),
            created_by=counselor,
            created_at=now,
            status_changed_at=now,
        )
        add("goals", goal.id)
        if metric == "manual":
            GoalProgressEntry.objects.create(
                goal=goal,
                value=Decimal("1"),
                on_date=today - timedelta(days=1),
                recorded_by=counselor,
                recorded_at=now,
            )
    PlanComment.objects.create(
        plan=plan, author=enrollment.patient, body="I agree.", agrees=True, created_at=now
    )

    screen = DrugScreen.objects.create(
        enrollment=enrollment,
        collected_on=today - timedelta(days=2),
        method="urine",
        status="completed",
        outcome="negative",
        observed=True,
        note="Observed collection.",
        recorded_by=counselor,
        recorded_at=now,
    )
    for substance in ("cocaine", "fentanyl"):
        DrugScreenResult.objects.create(screen=screen, substance=substance, result="negative")
    add("screens", screen.id)
    medication = Medication.objects.create(
        enrollment=enrollment,
        name="Buprenorphine",
        category="moud",
        dose="8 mg",
        start_date=today - timedelta(days=10),
        reminder_time=time(9, 0),
        created_by=counselor,
        created_at=now,
        updated_at=now,
    )
    add("medications", medication.id)
    meeting = MutualHelpMeeting.objects.create(
        enrollment=enrollment,
        fellowship="na",
        format="in_person",
        attended_on=today - timedelta(days=1),
        logged_at=now,
    )
    add("meetings", meeting.id)
    EnrollmentChange.objects.create(
        enrollment=enrollment,
        field=EnrollmentChange.Field.STAGE,
        old_value="engagement",
        new_value="early_recovery",
        changed_by=counselor,
        changed_at=now - timedelta(days=3),
    )

    for recipient in (enrollment.patient, counselor):
        notification = Notification.objects.create(
            recipient=recipient,
            kind=NotificationKind.SESSION_REMINDER,
            dedupe_key=f"fuzz-{tag}-{recipient.pk}",
            title="Reminder",
            body="Group at six.",
            # What recovery/services/sessions.py writes for a reminder: the declared shape.
            payload={
                "session_id": upcoming.id,
                "kind": upcoming.kind,
                "title": upcoming.title,
                "starts_at": upcoming.starts_at.isoformat(),
                "ends_at": upcoming.ends_at.isoformat(),
                "location": upcoming.location,
                "video_url": upcoming.video_url,
                "offset_minutes": 60,
            },
            due_at=now,
            state=NotificationState.SENT,
            sent_at=now,
            created_at=now,
        )
        add("notifications", notification.id)
    NotificationPreference.objects.create(
        user=enrollment.patient, quiet_start=time(22, 0), quiet_end=time(7, 0)
    )
    DeviceFactory(user=enrollment.patient)
    add("patients", enrollment.id)


def build_world() -> World:
    now = timezone.now()
    library = _ensure_library()
    program = cast(Program, ProgramFactory())
    elsewhere = cast(Program, ProgramFactory())
    counselor = cast(User, CounselorFactory(program=program))
    other_counselor = cast(User, CounselorFactory(program=program))
    supervisor = cast(User, SupervisorFactory(program=program))
    foreign_counselor = cast(User, CounselorFactory(program=elsewhere))
    start = local_today(program.timezone) - timedelta(days=20)
    own = cast(
        Enrollment,
        EnrollmentFactory(program=program, primary_counselor=counselor, start_date=start),
    )
    neighbour = cast(
        Enrollment,
        EnrollmentFactory(program=program, primary_counselor=other_counselor, start_date=start),
    )
    foreign = cast(
        Enrollment,
        EnrollmentFactory(program=elsewhere, primary_counselor=foreign_counselor, start_date=start),
    )

    ids: dict[str, list[Any]] = {}
    for tag, enrollment, team in (
        ("own", own, counselor),
        ("neighbour", neighbour, other_counselor),
        ("foreign", foreign, foreign_counselor),
    ):
        _populate(enrollment, team, library, ids, now, tag)
    program_exercise = Exercise.objects.create(
        program=program,
        slug="clinic-walk",
        name="Clinic walk",
        category="behavioral",
        summary="A walk around the block.",
        steps=["Walk."],
        duration_minutes=10,
    )
    foreign_exercise = Exercise.objects.create(
        program=elsewhere,
        slug="foreign-walk",
        name="Foreign walk",
        category="behavioral",
        summary="A walk elsewhere.",
        steps=["Walk."],
        duration_minutes=10,
    )
    ids["exercises"] = [library[0].id, library[2].id, program_exercise.id, foreign_exercise.id]
    ids["staff"] = [counselor.id, other_counselor.id, supervisor.id, foreign_counselor.id]
    ids["own_contacts"] = ids["contacts"][:2]
    ids["questionnaires"] = ["phq9"]
    ids["incentive-protocols"] = [
        IncentiveProtocol.objects.create(
            program=program,
            name="Cocaine-negative vouchers",
            behaviour="negative_screen",
            substance="cocaine",
            schedule="escalating",
            start=250,
            step=125,
            maximum=1000,
            started_on=start,
            created_at=now,
        ).id
    ]
    return World(
        users={"patient": own.patient, "counselor": counselor, "supervisor": supervisor},
        ids=ids,
    )


@pytest.fixture
def fuzz_world(transactional_db: None) -> Iterator[World]:
    """A fresh world per fuzzed operation, visible to the generation hooks meanwhile.

    Transactional on purpose: requests go through the real WSGI stack, where Django closes
    the connection at the end of each request and on_commit hooks (realtime events,
    notification dispatch, disclosures) run, as they do in production.
    """
    global ACTIVE
    with transaction.atomic():  # one commit (one fsync on SQLite) instead of hundreds
        ACTIVE = build_world()
    try:
        yield ACTIVE
    finally:
        ACTIVE = None
