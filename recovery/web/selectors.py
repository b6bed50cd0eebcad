"""Reads shaped for the dashboard pages, on the same access rules as the API.

Everything starts from `recovery.selectors.access`: a counselor sees the patients on whose
care team they sit, a supervisor the program, anything else is a 404. These reads are
page-shaped (a week grid, a flag queue with names); they would sit well in
`recovery/selectors/` once another client needs them.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import mean

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from backend.timezones import local_date, local_today
from recovery.models import (
    Attendance,
    CheckIn,
    Enrollment,
    EnrollmentChange,
    ExerciseAssignment,
    Flag,
    FlagStatus,
    TreatmentSession,
    User,
)
from recovery.selectors.access import (
    flags_visible_to,
    is_program_staff,
    patients_shown,
    sessions_visible_to,
)
from recovery.selectors.dashboard import week_start

OPEN_STATUSES = (FlagStatus.OPEN, FlagStatus.ACKNOWLEDGED)
FLAG_QUEUE_LIMIT = 500


def _flags_visible_to(user: User) -> QuerySet[Flag]:
    return flags_visible_to(user).select_related(
        "enrollment__patient", "assigned_to", "acknowledged_by"
    )


def flag_queue(
    *,
    user: User,
    enrollment: Enrollment | None = None,
    assigned: str = "",
    severity: int | None = None,
    kind: str = "",
    escalated: bool = False,
) -> list[Flag]:
    """Open and acknowledged flags, most severe first, then oldest first; `assigned`
    "me" or "nobody", `severity`, `kind` and `escalated` narrow them."""
    flags = _flags_visible_to(user).filter(status__in=OPEN_STATUSES)
    if enrollment is not None:
        flags = flags.filter(enrollment=enrollment)
    if assigned == "me":
        flags = flags.filter(assigned_to_id=user.id)
    elif assigned == "nobody":
        flags = flags.filter(assigned_to__isnull=True)
    if severity is not None:
        flags = flags.filter(severity=severity)
    if kind:
        flags = flags.filter(kind=kind)
    if escalated:
        flags = flags.filter(escalated_at__isnull=False)
    return list(flags.order_by("-severity", "created_at", "id")[:FLAG_QUEUE_LIMIT])


def visible_flag(*, user: User, flag_id: int) -> Flag:
    flag = _flags_visible_to(user).select_related("enrollment__program").filter(id=flag_id).first()
    if flag is None:
        raise Http404
    return flag


@dataclass(frozen=True)
class DayPoint:
    day: date
    mood: float | None
    craving: float | None


def daily_checkins(
    *, enrollment: Enrollment, days: int = 30, now: datetime | None = None
) -> list[DayPoint]:
    """Mean mood and craving per local day of the patient, oldest first, `days` days."""
    now = now or timezone.now()
    zone = zoneinfo.ZoneInfo(enrollment.timezone)
    today = local_date(now, zone)
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, tzinfo=zone)
    moods: dict[date, list[int]] = defaultdict(list)
    cravings: dict[date, list[int]] = defaultdict(list)
    for at, mood, craving in CheckIn.objects.filter(
        enrollment=enrollment, device_time__gte=since
    ).values_list("device_time", "mood", "craving"):
        day = local_date(at, zone)
        moods[day].append(mood)
        cravings[day].append(craving)
    points = []
    for n in range(days):
        day = first + timedelta(days=n)
        points.append(
            DayPoint(
                day=day,
                mood=round(mean(moods[day]), 2) if moods[day] else None,
                craving=round(mean(cravings[day]), 2) if cravings[day] else None,
            )
        )
    return points


def exercise_assignments(*, enrollment: Enrollment) -> list[ExerciseAssignment]:
    return list(
        ExerciseAssignment.objects.filter(enrollment=enrollment)
        .select_related("exercise", "assigned_by")
        .order_by("-assigned_at", "-id")
    )


def care_path_history(*, enrollment: Enrollment) -> list[EnrollmentChange]:
    """Stage, level-of-care and status changes, oldest first."""
    return list(enrollment.changes.select_related("changed_by").order_by("changed_at", "id"))


@dataclass
class SessionPatient:
    enrollment: Enrollment
    attendance: Attendance | None


@dataclass
class SessionCard:
    session: TreatmentSession
    starts_local: datetime
    ends_local: datetime
    duration_minutes: int
    patients: list[SessionPatient] = field(default_factory=list)
    other_patients: int = 0


@dataclass
class CalendarDay:
    day: date
    is_today: bool
    sessions: list[SessionCard] = field(default_factory=list)


@dataclass
class CalendarWeek:
    start: date
    end: date
    zone_name: str
    days: list[CalendarDay]
    previous_start: date
    next_start: date


def session_card(
    session: TreatmentSession,
    *,
    zone: zoneinfo.ZoneInfo,
    patients: list[SessionPatient] | None = None,
    other_patients: int = 0,
) -> SessionCard:
    return SessionCard(
        session=session,
        starts_local=session.starts_at.astimezone(zone),
        ends_local=session.ends_at.astimezone(zone),
        duration_minutes=int((session.ends_at - session.starts_at).total_seconds() // 60),
        patients=patients or [],
        other_patients=other_patients,
    )


def week_calendar(*, user: User, week_of: date | None = None) -> CalendarWeek:
    """The program's sessions of one week (Monday to Sunday, the program's local time).

    Each session lists only the patients the user may see, with their attendance; the
    others are counted, never named.
    """
    program = user.program
    if program is None or not is_program_staff(user):
        raise Http404
    zone = zoneinfo.ZoneInfo(program.timezone)
    today = local_today(zone)
    start = week_start(week_of or today)
    begin = datetime.combine(start, time.min, tzinfo=zone)
    end = datetime.combine(start + timedelta(days=7), time.min, tzinfo=zone)
    sessions = list(
        sessions_visible_to(user)
        .filter(starts_at__gte=begin, starts_at__lt=end)
        .order_by("starts_at", "id")
    )
    shown = patients_shown(user, sessions)
    on_session: dict[int, list[int]] = defaultdict(list)
    for session_id, enrollment_id in TreatmentSession.patients.through.objects.filter(
        treatmentsession_id__in=[s.id for s in sessions]
    ).values_list("treatmentsession_id", "enrollment_id"):
        on_session[session_id].append(enrollment_id)
    visible = {
        e.id: e
        for e in Enrollment.objects.select_related("patient").filter(
            id__in={i for ids in shown.values() for i in ids}
        )
    }
    attendance = {
        (a.session_id, a.enrollment_id): a
        for a in Attendance.objects.filter(
            session_id__in=[s.id for s in sessions], enrollment_id__in=list(visible)
        )
    }
    days = [
        CalendarDay(day=start + timedelta(days=n), is_today=start + timedelta(days=n) == today)
        for n in range(7)
    ]
    for session in sessions:
        ids = on_session.get(session.id, [])
        mine = sorted(
            (visible[i] for i in shown.get(session.id, [])),
            key=lambda e: (e.patient.last_name, e.patient.first_name, e.id),
        )
        card = session_card(
            session,
            zone=zone,
            patients=[SessionPatient(e, attendance.get((session.id, e.id))) for e in mine],
            other_patients=len(ids) - len(mine),
        )
        days[(local_date(session.starts_at, zone) - start).days].sessions.append(card)
    return CalendarWeek(
        start=start,
        end=start + timedelta(days=6),
        zone_name=program.timezone,
        days=days,
        previous_start=start - timedelta(days=7),
        next_start=start + timedelta(days=7),
    )


def visible_session(*, user: User, session_id: int) -> TreatmentSession:
    """A session of the user's program (the API's rule); 404 otherwise."""
    session = sessions_visible_to(user).select_related("program").filter(id=session_id).first()
    if session is None:
        raise Http404
    return session
