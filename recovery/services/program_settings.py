"""A program's settings, changed by its supervisors (`may_change_program_settings`) from
the API or the dashboard: one write that validates every field, records each change in
the audit trail with its old and new value, and makes it count at once. New reminder
offsets re-plan the reminders of every session still ahead; new escalation delays move
the escalation of the open flags waiting for it; the other settings are read where they
are used (the next check-in's nudge and flags, a new patient's schedule and quiet hours).
Two-factor sign-in is required only by a supervisor who has set it up themselves.
"""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from backend.errors import NotAllowed, ServiceError
from recovery.models import AuditEntry, Program, ProgramMonitoringSettings, User
from recovery.selectors.access import may_change_program_settings
from recovery.selectors.program_settings import MONITORING_FIELDS, PROGRAM_FIELDS
from recovery.services.audit import RequestMeta, audit_record_program
from recovery.services.flags import flags_shift_escalation
from recovery.services.monitoring import monitoring_settings_for
from recovery.services.sessions import session_reminders_replan

MAX_REMINDERS = 5


def _plain(value: Any) -> Any:
    """A value as the audit trail keeps it (JSON)."""
    if isinstance(value, time):
        return value.isoformat(timespec="minutes")
    if isinstance(value, Decimal):
        return str(value)
    return value


def settings_problems(values: dict[str, Any]) -> dict[str, list[str]]:
    """The rules across fields, on the settings as they would be after the change."""
    errors: dict[str, list[str]] = {}
    offsets = values["reminder_offsets_minutes"]
    if isinstance(offsets, list):
        if len(offsets) > MAX_REMINDERS:
            errors["reminder_offsets_minutes"] = [f"At most {MAX_REMINDERS} reminders."]
        elif len(set(offsets)) != len(offsets):
            errors["reminder_offsets_minutes"] = ["Each offset once."]
    if values["checkin_opens_at"] == values["checkin_due_by"]:
        errors["checkin_due_by"] = ["Must differ from checkin_opens_at."]
    if (values["quiet_start"] is None) != (values["quiet_end"] is None):
        errors["quiet_end"] = ["Give both ends of the quiet hours, or neither."]
    elif values["quiet_start"] is not None and values["quiet_start"] == values["quiet_end"]:
        errors["quiet_end"] = ["Must differ from quiet_start."]
    return errors


def _clean(
    record: Program | ProgramMonitoringSettings, fields: tuple[str, ...]
) -> dict[str, list[str]]:
    try:
        record.clean_fields(exclude=[f.name for f in record._meta.fields if f.name not in fields])
    except ValidationError as exc:
        return {key: [str(m) for m in messages] for key, messages in exc.message_dict.items()}
    return {}


def _has_second_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def program_settings_update(
    *, program: Program, actor: User, data: dict[str, Any], meta: RequestMeta
) -> Program:
    """Change some of the program's settings (`data`, by field); all or nothing."""
    if not may_change_program_settings(actor, program.id):
        raise NotAllowed(message="Only supervisors change the program's settings.")
    unknown = set(data) - set(PROGRAM_FIELDS) - set(MONITORING_FIELDS)
    if unknown:
        raise ServiceError({key: ["Not a program setting."] for key in sorted(unknown)})
    with transaction.atomic():
        locked = Program.objects.select_for_update().get(id=program.id)
        monitoring_settings_for(locked)
        monitoring = ProgramMonitoringSettings.objects.select_for_update().get(program=locked)
        changes: dict[str, dict[str, Any]] = {}
        for record, fields in ((locked, PROGRAM_FIELDS), (monitoring, MONITORING_FIELDS)):
            for key in fields:
                if key in data and getattr(record, key) != data[key]:
                    changes[key] = {"old": _plain(getattr(record, key)), "new": _plain(data[key])}
                    setattr(record, key, data[key])
        errors = _clean(locked, PROGRAM_FIELDS) | _clean(monitoring, MONITORING_FIELDS)
        errors = settings_problems({key: getattr(locked, key) for key in PROGRAM_FIELDS}) | errors
        if changes.get("require_staff_2fa", {}).get("new") and not _has_second_factor(actor):
            errors["require_staff_2fa"] = [
                "Set up your own authenticator first, or you could not sign in again."
            ]
        if errors:
            raise ServiceError(errors)
        if not changes:
            return locked
        locked.save(update_fields=[key for key in PROGRAM_FIELDS if key in changes])
        if any(key in changes for key in MONITORING_FIELDS):
            monitoring.updated_by = actor
            monitoring.save()
        audit_record_program(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            resource="program_settings",
            program_id=program.id,
            meta=meta,
            changes=changes,
        )
        for key, crisis in (
            ("escalation_delay_minutes", False),
            ("crisis_escalation_delay_minutes", True),
        ):
            if key in changes:
                by = timedelta(minutes=changes[key]["new"] - changes[key]["old"])
                flags_shift_escalation(program_id=program.id, crisis=crisis, by=by)
        if "reminder_offsets_minutes" in changes:
            # Queued rows, in the same transaction: the change and its reminders together.
            session_reminders_replan(program=locked, now=timezone.now())
    return locked
