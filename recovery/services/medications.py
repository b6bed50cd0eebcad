"""Writes of medications and their periodic jobs.

Counselors keep the medication list; adherence comes from the check-in's
`medication_taken`. `medication_adherence_sweep` flags a run of missed doses as long as
the program's `missed_dose_days`; `medication_reminders_top_up` keeps the optional daily
reminders queued two days ahead as notification rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from backend.errors import ServiceError
from backend.timezones import as_zone, earliest_local_date, latest_local_date, local_date
from notifications.services import Message, notifications_cancel_topic, notify_all
from recovery.dates import enrollment_today
from recovery.models import (
    Enrollment,
    EnrollmentStatus,
    FlagKind,
    Medication,
    MedicationCategory,
    ProgramMonitoringSettings,
    User,
)
from recovery.notification_kinds import NotificationKind
from recovery.selectors.access import medication_fields_for
from recovery.services.flags import FlagCandidate, flags_raise
from recovery.services.monitoring import _require_active, in_care_problems
from recovery.texts import in_language

REMINDER_DAYS_AHEAD = 2
ADHERENCE_LOOKBACK_DAYS = 90
SWEEP_BATCH = 500

KNOWN_MEDICATIONS: dict[str, str] = {
    "buprenorphine": MedicationCategory.MOUD,
    "buprenorphine/naloxone": MedicationCategory.MOUD,
    "suboxone": MedicationCategory.MOUD,
    "sublocade": MedicationCategory.MOUD,
    "methadone": MedicationCategory.MOUD,
    "naltrexone": MedicationCategory.MOUD,
    "vivitrol": MedicationCategory.MOUD,
    "acamprosate": MedicationCategory.MAUD,
    "disulfiram": MedicationCategory.MAUD,
}


# --- medications ------------------------------------------------------------------------


def medication_category_for(name: str) -> str:
    return KNOWN_MEDICATIONS.get(name.strip().lower(), MedicationCategory.OTHER)


def medication_problems(
    *,
    enrollment: Enrollment | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
    name: str | None = None,
) -> dict[str, list[str]]:
    """The rules of a medication entry on whichever fields are given, by field: the API
    checks them together with its own field errors."""
    errors: dict[str, list[str]] = {}
    if name is not None and not name.strip():
        errors["name"] = ["Name the medication."]
    if end_date is not None and start_date is not None and end_date < start_date:
        errors["end_date"] = ["Must be on or after the start date."]
    if (
        enrollment is not None
        and start_date is not None
        and start_date > enrollment_today(enrollment) + timedelta(days=366)
    ):
        errors["start_date"] = ["At most a year ahead."]
    return errors


def _validate_medication(
    enrollment: Enrollment, *, start_date: date, end_date: date | None, name: str
) -> None:
    errors = medication_problems(
        enrollment=enrollment, start_date=start_date, end_date=end_date, name=name
    )
    if errors:
        raise ServiceError(errors)


def _sync_has_medication(enrollment: Enrollment) -> None:
    """Check-ins ask about medication only while one is current or planned."""
    today = enrollment_today(enrollment)
    has = Medication.objects.filter(enrollment=enrollment).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=today)
    )
    wanted = has.exists()
    if enrollment.has_medication != wanted:
        enrollment.has_medication = wanted
        enrollment.save(update_fields=["has_medication"])


def medication_add(
    *,
    enrollment: Enrollment,
    actor: User,
    name: str,
    start_date: date,
    category: str | None = None,
    dose: str = "",
    prescriber: str = "",
    end_date: date | None = None,
    reminder_time: time | None = None,
) -> Medication:
    _require_active(enrollment)
    _validate_medication(enrollment, start_date=start_date, end_date=end_date, name=name)
    now = timezone.now()
    with transaction.atomic():
        medication = Medication.objects.create(
            enrollment=enrollment,
            name=name.strip(),
            category=category or medication_category_for(name),
            dose=dose,
            prescriber=prescriber,
            start_date=start_date,
            end_date=end_date,
            reminder_time=reminder_time,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        _sync_has_medication(enrollment)
        medication_reminders_schedule(enrollment=enrollment, now=now)
    return medication


def medication_update_problems(
    *, medication: Medication, actor: User, data: Mapping[str, Any]
) -> dict[str, list[str]]:
    """The rules of changing a medication with `data` (the fields given), by field: staff
    change any field but the start, the patient only their reminder; the API checks them
    together with its own field errors."""
    allowed = medication_fields_for(actor)
    errors = {key: ["Your care team changes this."] for key in sorted(set(data) - set(allowed))}
    errors.update(in_care_problems(medication.enrollment))
    rules = medication_problems(
        start_date=medication.start_date,
        end_date=data.get("end_date", medication.end_date),
        name=data.get("name", medication.name),
    )
    return {**rules, **errors}


def medication_update(*, medication: Medication, actor: User, data: dict[str, Any]) -> Medication:
    """Staff change a medication (dose, end date ...); the patient only their reminder."""
    enrollment = medication.enrollment
    errors = medication_update_problems(medication=medication, actor=actor, data=data)
    if errors:
        raise ServiceError(errors)
    now = timezone.now()
    with transaction.atomic():
        for key, value in data.items():
            setattr(medication, key, value.strip() if key == "name" else value)
        medication.updated_at = now
        medication.save()
        _sync_has_medication(enrollment)
        medication_reminders_schedule(enrollment=enrollment, now=now)
    return medication


# --- medication reminders ---------------------------------------------------------------


def reminder_topic(enrollment_id: int) -> str:
    return f"medication-reminders:{enrollment_id}"


def _reminder_rows(
    enrollment: Enrollment, medications: list[Medication], now: datetime
) -> list[Message]:
    zone = as_zone(enrollment.timezone)
    today = local_date(now, zone)
    rows: list[Message] = []
    for offset in range(REMINDER_DAYS_AHEAD):
        day = today + timedelta(days=offset)
        times = sorted(
            {
                m.reminder_time
                for m in medications
                if m.reminder_time is not None
                and m.start_date <= day
                and (m.end_date is None or day <= m.end_date)
            }
        )
        for wall in times:
            due = datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)
            if due <= now:
                continue
            rows.append(
                Message(  # expires after the kind's time to live
                    kind=NotificationKind.MEDICATION_REMINDER,
                    key=f"med-reminder:{enrollment.id}:{day.isoformat()}:{wall:%H%M}",
                    recipients=[enrollment.patient_id],
                    topic=reminder_topic(enrollment.id),
                    title=in_language(enrollment.language, gettext_noop("Medication reminder")),
                    body=in_language(
                        enrollment.language, gettext_noop("It is time for your medication.")
                    ),
                    payload={"reminder": "medication", "local_time": f"{wall:%H:%M}"},
                    due_at=due,
                )
            )
    return rows


def medication_reminders_schedule(*, enrollment: Enrollment, now: datetime | None = None) -> int:
    """Queue this patient's reminders for the next days afresh (after any change)."""
    now = now or timezone.now()
    notifications_cancel_topic(topic=reminder_topic(enrollment.id))
    if enrollment.status != EnrollmentStatus.ACTIVE:
        return 0
    medications = list(
        Medication.objects.filter(enrollment=enrollment, reminder_time__isnull=False)
    )
    rows = _reminder_rows(enrollment, medications, now)
    notify_all(messages=rows, now=now)
    return len(rows)


def medication_reminders_top_up(now: datetime | None = None) -> int:
    """Periodic job: keep every patient's reminders queued two days ahead. Dedupe keys make
    a re-run add nothing."""
    now = now or timezone.now()
    # Every patient's own days are chosen in _reminder_rows; this only narrows the query to
    # medications that can be current on some day ahead in some zone.
    horizon = latest_local_date(now) + timedelta(days=REMINDER_DAYS_AHEAD)
    earliest = earliest_local_date(now)
    medications = (
        Medication.objects.filter(
            reminder_time__isnull=False,
            enrollment__status=EnrollmentStatus.ACTIVE,
            start_date__lte=horizon,
        )
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=earliest))
        .select_related("enrollment")
        .order_by("enrollment_id", "id")
    )
    by_enrollment: dict[int, list[Medication]] = defaultdict(list)
    for medication in medications:
        by_enrollment[medication.enrollment_id].append(medication)
    rows: list[Message] = []
    for group in by_enrollment.values():
        rows.extend(_reminder_rows(group[0].enrollment, group, now))
    with transaction.atomic():
        notify_all(messages=rows, now=now)
    return len(rows)


# --- missed doses -----------------------------------------------------------------------


@dataclass
class AdherenceSweepReport:
    enrollments: int = 0
    flags: int = 0


def missed_dose_run(
    days: dict[date, str], *, today: date, unreported_counts: bool
) -> tuple[date, int] | None:
    """The run of missed doses ending today or yesterday: (first day, length), or None.

    `days` maps each day on medication to "taken", "missed" or "unreported"; a day off
    medication or with the dose taken ends a run. Today counts only once reported."""
    cursor = today
    if days.get(today) == "unreported":
        cursor = today - timedelta(days=1)
    first: date | None = None
    length = 0
    while True:
        status = days.get(cursor)
        missed = status == "missed" or (unreported_counts and status == "unreported")
        if not missed:
            break
        first = cursor
        length += 1
        cursor -= timedelta(days=1)
    return (first, length) if first is not None else None


def medication_adherence_sweep(now: datetime | None = None) -> AdherenceSweepReport:
    """Periodic job: flag each patient whose missed doses in a row reached the program's
    `missed_dose_days`. One flag per run of misses (the window key is its first day)."""
    from recovery.selectors.monitoring import medication_days_bulk

    now = now or timezone.now()
    report = AdherenceSweepReport()
    since = earliest_local_date(now) - timedelta(days=ADHERENCE_LOOKBACK_DAYS)
    candidate_ids = list(
        Medication.objects.filter(enrollment__status=EnrollmentStatus.ACTIVE)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=since))
        .values_list("enrollment_id", flat=True)
        .distinct()
        .order_by("enrollment_id")
    )
    settings_by_program = {s.program_id: s for s in ProgramMonitoringSettings.objects.all()}
    for start in range(0, len(candidate_ids), SWEEP_BATCH):
        batch = candidate_ids[start : start + SWEEP_BATCH]
        enrollments = list(Enrollment.objects.filter(id__in=batch).select_related("program"))
        statuses = medication_days_bulk(
            enrollments=enrollments, days=ADHERENCE_LOOKBACK_DAYS, now=now
        )
        candidates: list[FlagCandidate] = []
        for enrollment in enrollments:
            program_settings = settings_by_program.get(enrollment.program_id)
            threshold = program_settings.missed_dose_days if program_settings else 2
            unreported = bool(
                program_settings and program_settings.unreported_dose_counts_as_missed
            )
            run = missed_dose_run(
                statuses.get(enrollment.id, {}),
                today=enrollment_today(enrollment, now),
                unreported_counts=unreported,
            )
            report.enrollments += 1
            if run is not None and run[1] >= threshold:
                candidates.append(
                    FlagCandidate(
                        enrollment,
                        FlagKind.MISSED_MEDICATION,
                        f"doses:{run[0]}",
                        {"missed_doses": run[1], "threshold": threshold},
                    )
                )
        with transaction.atomic():
            report.flags += len(flags_raise(candidates=candidates, now=now))
    return report
