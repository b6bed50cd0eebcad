"""Writes of the program's monitoring thresholds and of mutual-help meetings (patients
log them).

Drug screens are recorded in `recovery.services.screens`; medications, their reminders and
the missed-dose sweep are in `recovery.services.medications`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from backend.errors import NotAllowed, ServiceError
from recovery.dates import enrollment_today
from recovery.models import (
    Enrollment,
    EnrollmentStatus,
    Fellowship,
    MutualHelpMeeting,
    Program,
    ProgramMonitoringSettings,
    User,
)
from recovery.selectors.access import may_change_program_settings


def in_care_problems(enrollment: Enrollment) -> dict[str, list[str]]:
    """Records are written only for a patient in care, by field (`patient`)."""
    if enrollment.status != EnrollmentStatus.ACTIVE:
        return {"patient": ["The patient is discharged."]}
    return {}


def _require_active(enrollment: Enrollment) -> None:
    errors = in_care_problems(enrollment)
    if errors:
        raise ServiceError(errors)


# --- program settings -------------------------------------------------------------------


def monitoring_settings_for(program: Program) -> ProgramMonitoringSettings:
    """The program's thresholds, created with their defaults the first time."""
    found, _ = ProgramMonitoringSettings.objects.get_or_create(program=program)
    return found


def monitoring_settings_update(
    *, program: Program, actor: User, data: dict[str, Any]
) -> ProgramMonitoringSettings:
    if not may_change_program_settings(actor, program.id):
        raise NotAllowed(message="Only supervisors change the program's settings.")
    with transaction.atomic():
        current = ProgramMonitoringSettings.objects.select_for_update().filter(program=program)
        found = current.first() or monitoring_settings_for(program)
        for key, value in data.items():
            setattr(found, key, value)
        found.updated_by = actor
        found.full_clean()
        found.save()
    return found


# --- mutual-help meetings ---------------------------------------------------------------


def meeting_problems(
    *,
    enrollment: Enrollment,
    fellowship: str | None = None,
    attended_on: date | None = None,
    fellowship_other: str | None = None,
) -> dict[str, list[str]]:
    """The rules of a logged meeting on whichever fields are given, by field: the API
    checks them together with its own field errors."""
    errors = in_care_problems(enrollment)
    if attended_on is not None:
        if attended_on > enrollment_today(enrollment):
            errors["attended_on"] = ["Cannot be in the future."]
        elif attended_on < enrollment.start_date - timedelta(days=7):
            errors["attended_on"] = ["Log meetings from your program's start on."]
    if fellowship is not None and fellowship_other is not None:
        if fellowship == Fellowship.OTHER and not fellowship_other.strip():
            errors["fellowship_other"] = ["Name the fellowship."]
        if fellowship != Fellowship.OTHER and fellowship_other:
            errors["fellowship_other"] = ["Only for the fellowship 'other'."]
    return errors


def meeting_log(
    *,
    enrollment: Enrollment,
    fellowship: str,
    meeting_format: str,
    attended_on: date,
    fellowship_other: str = "",
    note: str = "",
) -> MutualHelpMeeting:
    errors = meeting_problems(
        enrollment=enrollment,
        fellowship=fellowship,
        attended_on=attended_on,
        fellowship_other=fellowship_other,
    )
    if errors:
        raise ServiceError(errors)
    return MutualHelpMeeting.objects.create(
        enrollment=enrollment,
        fellowship=fellowship,
        fellowship_other=fellowship_other.strip(),
        format=meeting_format,
        attended_on=attended_on,
        note=note,
        logged_at=timezone.now(),
    )


def meeting_delete(*, meeting: MutualHelpMeeting) -> None:
    meeting.delete()
