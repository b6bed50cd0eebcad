"""Administering questionnaires: a program's own instruments (validated before they are
saved), its schedule per stage, a counselor's one-off assignment, and the sweep that makes
questionnaires due (a reminder through `notify`, with the window as its expiry) and
counts the ones whose window closed unanswered as missed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_noop

from backend.errors import NotAllowed, ServiceError
from notifications.services import Message, notify_all
from recovery.dates import patient_daytime
from recovery.models import (
    AssignmentSource,
    AssignmentStatus,
    Enrollment,
    EnrollmentStatus,
    Program,
    ProgramInstrument,
    ProgramQuestionnaireSettings,
    QuestionnaireAssignment,
    QuestionnaireSchedule,
    Stage,
    User,
)
from recovery.notification_kinds import NotificationKind
from recovery.questionnaires import LIBRARY, definition_problems
from recovery.selectors.access import is_program_staff, may_change_program_settings
from recovery.selectors.questionnaires import instrument_definition
from recovery.texts import in_language

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
DEFAULT_WINDOW_DAYS = 3


def program_instrument_save(
    *, program: Program, actor: User, definition: dict[str, Any]
) -> ProgramInstrument:
    """A program's own instrument, as data: refused with every problem named unless it is
    a complete, consistent definition whose code is the program's own."""
    if not may_change_program_settings(actor, program.id):
        raise NotAllowed(message="Only the program's supervisors add instruments.")
    errors = {f"definition.{k}": v for k, v in definition_problems(definition).items()}
    code = definition.get("code") if isinstance(definition, dict) else None
    if isinstance(code, str) and (code in LIBRARY or not CODE_PATTERN.match(code)):
        errors["definition.code"] = [
            "Lower-case letters, digits and _ (2-32), and not a published instrument's code."
        ]
    if errors:
        raise ServiceError(errors)
    try:
        with transaction.atomic():
            return ProgramInstrument.objects.create(
                program=program,
                code=definition["code"],
                version=definition["version"],
                definition=definition,
                created_by=actor,
                created_at=timezone.now(),
            )
    except IntegrityError:
        raise ServiceError(
            {"definition.version": ["This version exists; give the change a new version."]}
        ) from None


def questionnaire_schedule_set(
    *,
    program: Program,
    actor: User,
    instrument: str,
    every_days: int | None,
    stage: str = "",
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> QuestionnaireSchedule:
    """A line of the program's schedule: every `every_days` days, or once per enrollment
    (every_days None: at the first sweep after the patient is enrolled in a stage the
    line covers, and never again once they have had that instrument)."""
    if not may_change_program_settings(actor, program.id):
        raise NotAllowed(message="Only the program's supervisors set the schedule.")
    errors: dict[str, list[str]] = {}
    if instrument_definition(program_id=program.id, code=instrument) is None:
        errors["instrument"] = ["No such instrument in this program."]
    if stage and stage not in Stage.values:
        errors["stage"] = [f"One of: {', '.join(Stage.values)}, or blank for every stage."]
    if every_days is not None and not 1 <= every_days <= 365:
        errors["every_days"] = ["Between 1 and 365, or none for once at intake."]
    if not 1 <= window_days <= 30 or (every_days is not None and window_days > every_days):
        errors["window_days"] = ["Between 1 and 30, and not longer than every_days."]
    if errors:
        raise ServiceError(errors)
    schedule, _ = QuestionnaireSchedule.objects.update_or_create(
        program=program,
        instrument=instrument,
        stage=stage,
        defaults={"every_days": every_days, "window_days": window_days},
    )
    return schedule


CRISIS_RULE = "crisis"


def questionnaire_settings_set(
    *, program: Program, actor: User, alert_thresholds: dict[str, dict[str, int]]
) -> ProgramQuestionnaireSettings:
    """The program's own alert thresholds: {instrument: {rule: above}}."""
    if not may_change_program_settings(actor, program.id):
        raise NotAllowed(message="Only the program's supervisors change alert thresholds.")
    errors: dict[str, list[str]] = {}
    for code, rules in alert_thresholds.items():
        definition = instrument_definition(program_id=program.id, code=code)
        known = {a["rule"]: a["above"] for a in definition.get("alerts", [])} if definition else {}
        for rule, above in rules.items():
            where = f"alert_thresholds.{code}.{rule}"
            if rule not in known or not isinstance(above, int) or above < 0:
                errors[where] = [
                    "Not an alert rule of this instrument, or not a whole number >= 0."
                ]
            elif rule == CRISIS_RULE and above > known[rule]:
                # A program may make the crisis path more sensitive, never switch it off.
                errors[where] = [f"The crisis rule can only be lowered (at most {known[rule]})."]
    if errors:
        raise ServiceError(errors)
    settings, _ = ProgramQuestionnaireSettings.objects.update_or_create(
        program=program, defaults={"alert_thresholds": alert_thresholds}
    )
    return settings


def _reminder(assignment: QuestionnaireAssignment) -> Message:
    return Message(
        kind=NotificationKind.QUESTIONNAIRE_DUE,
        key=f"questionnaire_due:{assignment.id}",
        recipients=[assignment.enrollment.patient_id],
        title=in_language(assignment.enrollment.language, gettext_noop("A short questionnaire")),
        body=in_language(
            assignment.enrollment.language,
            gettext_noop("A questionnaire from your care team is waiting. Open the app."),
        ),
        payload={"assignment_id": assignment.id, "instrument": assignment.instrument},
        # A scheduled one is due at whatever hour the sweep ran: the phone hears of it in
        # the patient's day. One a person or a rule assigned (the screener after a risk
        # answer, while the patient is in the app) goes at once.
        due_at=patient_daytime(assignment.enrollment, assignment.due_at)
        if assignment.source == AssignmentSource.SCHEDULE
        else assignment.due_at,
        expires_at=assignment.closes_at,
    )


def questionnaire_assign(
    *,
    enrollment: Enrollment,
    instrument: str,
    actor: User | None = None,
    source: str = AssignmentSource.COUNSELOR,
    window_days: int = DEFAULT_WINDOW_DAYS,
    now: datetime | None = None,
) -> QuestionnaireAssignment:
    """Make one questionnaire due now (a counselor's choice, or a rule's); an open one of
    the same instrument is returned as it is."""
    if actor is not None and not is_program_staff(actor, enrollment.program_id):
        raise NotAllowed(message="Only the patient's care team assigns questionnaires.")
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise ServiceError({"patient": ["The patient has been discharged."]})
    if instrument_definition(program_id=enrollment.program_id, code=instrument) is None:
        raise ServiceError({"instrument": ["No such instrument in this program."]})
    if not 1 <= window_days <= 30:
        raise ServiceError({"window_days": ["Between 1 and 30."]})
    now = now or timezone.now()
    mine = QuestionnaireAssignment.objects.filter(enrollment=enrollment, instrument=instrument)
    with transaction.atomic():
        # A window that closed before the sweep saw it is missed, not open.
        mine.filter(status=AssignmentStatus.DUE, closes_at__lte=now).update(
            status=AssignmentStatus.MISSED
        )
        open_one = mine.filter(status=AssignmentStatus.DUE).first()
        if open_one is not None:
            return open_one
        try:
            with transaction.atomic():
                assignment = QuestionnaireAssignment.objects.create(
                    enrollment=enrollment,
                    instrument=instrument,
                    due_at=now,
                    closes_at=now + timedelta(days=window_days),
                    source=source,
                    assigned_by=actor,
                )
        except IntegrityError:  # made due at the same moment by someone else: that one
            return mine.get(status=AssignmentStatus.DUE)
        notify_all(messages=[_reminder(assignment)], now=now)
    return assignment


@dataclass
class QuestionnaireSweep:
    made_due: int = 0
    missed: int = 0


def questionnaires_sweep(*, now: datetime | None = None) -> QuestionnaireSweep:
    """Count closed windows as missed, then make due what each program's schedule asks
    for (per the patient's stage; a stage's own line wins over the all-stages line)."""
    now = now or timezone.now()
    report = QuestionnaireSweep()
    with transaction.atomic():
        report.missed = QuestionnaireAssignment.objects.filter(
            status=AssignmentStatus.DUE, closes_at__lte=now
        ).update(status=AssignmentStatus.MISSED)
    schedules: dict[int, list[QuestionnaireSchedule]] = {}
    for schedule in QuestionnaireSchedule.objects.all():
        schedules.setdefault(schedule.program_id, []).append(schedule)
    if not schedules:
        return report
    enrollments = {
        e.id: e
        for e in Enrollment.objects.filter(program_id__in=schedules, status=EnrollmentStatus.ACTIVE)
    }
    last_due: dict[tuple[int, str], datetime] = {}
    for enrollment_id, code, due_at in QuestionnaireAssignment.objects.filter(
        enrollment_id__in=enrollments
    ).values_list("enrollment_id", "instrument", "due_at"):
        key = (enrollment_id, code)
        last_due[key] = max(due_at, last_due.get(key, due_at))
    created: list[QuestionnaireAssignment] = []
    for enrollment in enrollments.values():
        for schedule in _applicable(schedules[enrollment.program_id], enrollment.stage):
            previous = last_due.get((enrollment.id, schedule.instrument))
            if previous is not None and (
                schedule.every_days is None  # once: already had it
                or now - previous < timedelta(days=schedule.every_days)
            ):
                continue
            created.append(
                QuestionnaireAssignment(
                    enrollment=enrollment,
                    instrument=schedule.instrument,
                    due_at=now,
                    closes_at=now + timedelta(days=schedule.window_days),
                    source=AssignmentSource.SCHEDULE,
                )
            )
    with transaction.atomic():
        # Another sweep may have made some of these due a moment ago: theirs stand, and
        # only the rows this sweep inserted (stamped with its own instant) are announced.
        before = QuestionnaireAssignment.objects.aggregate(last=Max("id"))["last"] or 0
        QuestionnaireAssignment.objects.bulk_create(created, ignore_conflicts=True)
        made = (
            list(
                QuestionnaireAssignment.objects.filter(
                    id__gt=before,
                    due_at=now,
                    source=AssignmentSource.SCHEDULE,
                    status=AssignmentStatus.DUE,
                )
            )
            if created
            else []
        )
        for assignment in made:
            assignment.enrollment = enrollments[assignment.enrollment_id]
        notify_all(messages=[_reminder(a) for a in made], now=now)
    report.made_due = len(made)
    return report


def _applicable(schedules: list[QuestionnaireSchedule], stage: str) -> list[QuestionnaireSchedule]:
    chosen: dict[str, QuestionnaireSchedule] = {}
    for schedule in schedules:
        if schedule.stage == stage or (schedule.stage == "" and schedule.instrument not in chosen):
            chosen[schedule.instrument] = schedule
    return list(chosen.values())
