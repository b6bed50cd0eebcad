"""Treatment sessions, their reminders and attendance."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from backend.errors import ServiceError
from notifications.services import (
    Message,
    notifications_cancel_kind,
    notifications_cancel_topic,
    notify_all,
)
from recovery.models import (
    Attendance,
    AttendanceStatus,
    Enrollment,
    Program,
    SessionStatus,
    TreatmentSession,
    User,
)
from recovery.notification_kinds import NotificationKind
from recovery.selectors.dashboard import ATTENDED
from recovery.services.incentive_facts import incentives_attendance_recorded


def session_topic(session_id: int) -> str:
    return f"session:{session_id}"


def _session_payload(session: TreatmentSession) -> dict[str, Any]:
    return {
        "session_id": session.id,
        "kind": session.kind,
        "title": session.title,
        "starts_at": session.starts_at.isoformat(),
        "ends_at": session.ends_at.isoformat(),
        "location": session.location,
        "video_url": session.video_url,
    }


def reminders_for(
    session: TreatmentSession, patient_ids: Iterable[int], *, now: datetime
) -> list[Message]:
    """Reminders at the program's offsets; offsets already past are skipped, so a session
    made 30 minutes ahead sends no 24-hour reminder. One message per language spoken."""
    messages = []
    recipients = list(patient_ids)
    by_language = _by_language(recipients)
    stamp = session.starts_at.strftime("%Y%m%dT%H%M%SZ")
    for offset in session.program.reminder_offsets_minutes:
        due_at = session.starts_at - timedelta(minutes=offset)
        if due_at <= now:
            continue
        for language, people in sorted(by_language.items()):
            with translation.override(language):
                title = _("Reminder: %(session)s") % {"session": session.title}
                body = _when_text(offset)
            messages.append(
                Message(
                    kind=NotificationKind.SESSION_REMINDER,
                    key=f"reminder:{session.id}:{stamp}:{offset}",
                    recipients=sorted(people),
                    topic=session_topic(session.id),
                    title=title,
                    body=body,
                    payload={**_session_payload(session), "offset_minutes": offset},
                    due_at=due_at,
                    expires_at=session.starts_at,
                )
            )
    return messages


def session_reminders_replan(*, program: Program, now: datetime) -> int:
    """The program's reminder offsets changed: the pending reminders of every session
    still ahead are replaced by reminders at the new offsets. Returns how many are queued."""
    sessions = list(
        TreatmentSession.objects.filter(program=program, starts_at__gt=now)
        .exclude(status=SessionStatus.CANCELLED)
        .prefetch_related("patients")
    )
    notifications_cancel_kind(
        topics=[session_topic(s.id) for s in sessions], kind=NotificationKind.SESSION_REMINDER
    )
    messages: list[Message] = []
    for session in sessions:
        session.program = program  # the offsets just saved
        patients = [enrollment.patient_id for enrollment in session.patients.all()]
        messages.extend(reminders_for(session, patients, now=now))
    return notify_all(messages=messages, now=now)


def _when_text(offset_minutes: int) -> str:
    if offset_minutes % (24 * 60) == 0:
        days = offset_minutes // (24 * 60)
        return ngettext("Starts in %(n)d day.", "Starts in %(n)d days.", days) % {"n": days}
    if offset_minutes % 60 == 0:
        hours = offset_minutes // 60
        return ngettext("Starts in %(n)d hour.", "Starts in %(n)d hours.", hours) % {"n": hours}
    return ngettext("Starts in %(n)d minute.", "Starts in %(n)d minutes.", offset_minutes) % {
        "n": offset_minutes
    }


def _patient_ids(session: TreatmentSession) -> list[int]:
    return list(session.patients.values_list("patient_id", flat=True))


def _by_language(patient_ids: list[int]) -> dict[str, list[int]]:
    """The patients by the language they read (one query; none for no patients)."""
    by_language: dict[str, list[int]] = defaultdict(list)
    if patient_ids:
        for patient_id, language in Enrollment.objects.filter(
            patient_id__in=patient_ids
        ).values_list("patient_id", "language"):
            by_language[language].append(patient_id)
    return by_language


def _notices(
    session: TreatmentSession, kind: str, title: str, body: str, now: datetime
) -> list[Message]:
    """A change told to the session's patients, each in their language: `title` and `body`
    are marked with gettext_noop, `title` takes the session's title as %(session)s."""
    messages = []
    for language, people in sorted(_by_language(_patient_ids(session)).items()):
        with translation.override(language):
            messages.append(
                Message(
                    kind=kind,
                    key=f"{kind}:{session.id}:{now:%Y%m%dT%H%M%S%f}",
                    recipients=sorted(people),
                    topic=f"{session_topic(session.id)}:notice",
                    title=_(title) % {"session": session.title},
                    body=_(body),
                    payload=_session_payload(session),
                    due_at=now,
                )
            )
    return messages


def _validate_patients(program_id: int, patients: list[Enrollment]) -> None:
    if any(p.program_id != program_id for p in patients):
        raise ServiceError({"patients": ["Patients must be enrolled in this program."]})


def session_problems(
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    session: TreatmentSession | None = None,
) -> dict[str, list[str]]:
    """The rules of a session's time (and of changing `session`) on whichever fields are
    given, by field: the API checks them together with its own field errors."""
    errors: dict[str, list[str]] = {}
    if session is not None and session.status == SessionStatus.CANCELLED:
        errors["status"] = ["A cancelled session cannot be changed."]
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        errors["ends_at"] = ["A session ends after it starts."]
    return errors


@transaction.atomic
def session_create(
    *,
    program_id: int,
    kind: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    location: str = "",
    video_url: str = "",
    facilitator: User | None = None,
    patients: list[Enrollment] | None = None,
    series_id: int | None = None,
    occurrence_key: datetime | None = None,
) -> TreatmentSession:
    errors = session_problems(starts_at=starts_at, ends_at=ends_at)
    if errors:
        raise ServiceError(errors)
    patients = patients or []
    _validate_patients(program_id, patients)
    session = TreatmentSession.objects.create(
        program_id=program_id,
        kind=kind,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        location=location,
        video_url=video_url,
        facilitator=facilitator,
        series_id=series_id,
        occurrence_key=occurrence_key,
    )
    session.patients.set(patients)
    notify_all(
        messages=reminders_for(session, [p.patient_id for p in patients], now=timezone.now())
    )
    return session


@transaction.atomic
def session_update(
    *,
    session: TreatmentSession,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    patients: list[Enrollment] | None = None,
    **fields: Any,
) -> TreatmentSession:
    """Change a session. A new time or new patients re-plan its pending reminders."""
    now = timezone.now()
    new_start = starts_at or session.starts_at
    new_end = ends_at or session.ends_at
    errors = session_problems(starts_at=new_start, ends_at=new_end, session=session)
    if errors:
        raise ServiceError(errors)
    moved = new_start != session.starts_at
    for key in ("kind", "title", "location", "video_url", "facilitator"):
        if key in fields:
            setattr(session, key, fields[key])
    session.starts_at, session.ends_at = new_start, new_end
    session.save()
    if patients is not None:
        _validate_patients(session.program_id, patients)
        session.patients.set(patients)
    if moved or patients is not None:
        notifications_cancel_topic(topic=session_topic(session.id))
        notify_all(messages=reminders_for(session, _patient_ids(session), now=now), now=now)
    if moved:
        notify_all(
            messages=_notices(
                session,
                NotificationKind.SESSION_MOVED,
                gettext_noop("Moved: %(session)s"),
                gettext_noop("The time of a session changed."),
                now,
            ),
            now=now,
        )
    return session


@transaction.atomic
def session_cancel(*, session: TreatmentSession, notify: bool = True) -> TreatmentSession:
    """A session someone attended happened: it stays, with its hours (the service-days
    report bills them). One nobody attended can be cancelled after the fact."""
    if session.status == SessionStatus.CANCELLED:
        return session
    if session.attendance.filter(status__in=ATTENDED).exists():
        raise ServiceError({"status": ["Attendance is recorded for this session: it took place."]})
    session.status = SessionStatus.CANCELLED
    session.save(update_fields=["status", "updated_at"])
    notifications_cancel_topic(topic=session_topic(session.id))
    if notify and session.starts_at > timezone.now():
        notify_all(
            messages=_notices(
                session,
                NotificationKind.SESSION_CANCELLED,
                gettext_noop("Cancelled: %(session)s"),
                gettext_noop("A session was cancelled."),
                timezone.now(),
            )
        )
    return session


ABSENCES = (AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED)


def session_minutes(session: TreatmentSession) -> int:
    return int((session.ends_at - session.starts_at).total_seconds() // 60)


def attendance_problems(
    *,
    session: TreatmentSession,
    enrollment_id: int | None = None,
    status: str | None = None,
    minutes_attended: int | None = None,
) -> dict[str, list[str]]:
    """The rules of recording attendance on whichever fields are given, by field: the API
    checks them together with its own field errors."""
    errors: dict[str, list[str]] = {}
    if enrollment_id is not None and not session.patients.filter(id=enrollment_id).exists():
        errors["patient"] = ["This patient is not on the session."]
    if session.status == SessionStatus.CANCELLED:
        errors["session"] = ["A cancelled session has no attendance."]
    if minutes_attended is not None:
        duration = session_minutes(session)
        if minutes_attended > duration:
            errors["minutes_attended"] = [f"At most the session's {duration} minutes."]
        elif status in ABSENCES and minutes_attended:
            errors["minutes_attended"] = ["An absence attends no minutes."]
    return errors


@transaction.atomic
def attendance_record(
    *,
    session: TreatmentSession,
    enrollment: Enrollment,
    status: str,
    actor: User,
    minutes_attended: int | None = None,
) -> Attendance:
    errors = attendance_problems(
        session=session,
        enrollment_id=enrollment.id,
        status=status,
        minutes_attended=minutes_attended,
    )
    if errors:
        raise ServiceError(errors)
    if minutes_attended is None:
        minutes_attended = 0 if status in ABSENCES else session_minutes(session)
    attendance, _ = Attendance.objects.update_or_create(
        session=session,
        enrollment=enrollment,
        defaults={
            "status": status,
            "minutes_attended": minutes_attended,
            "recorded_by": actor,
            "recorded_at": timezone.now(),
        },
    )
    incentives_attendance_recorded(attendance=attendance)
    return attendance
