"""A program's settings as one record: what the API and the dashboard's settings page
show and what `recovery.services.program_settings` changes."""

from __future__ import annotations

from typing import Any

from recovery.models import Program
from recovery.selectors.plan import monitoring_settings_of

# On the program itself.
PROGRAM_FIELDS = (
    "reminder_offsets_minutes",
    "checkin_opens_at",
    "checkin_due_by",
    "checkin_grace_minutes",
    "nudge_before_due_minutes",
    "quiet_start",
    "quiet_end",
    "craving_threshold",
    "app_silent_after_days",
    "escalation_delay_minutes",
    "crisis_escalation_delay_minutes",
    "required_hours_per_week",
    "days_per_week",
    "service_day_min_hours",
    "service_week_min_days",
    "require_staff_2fa",
)
# On its monitoring thresholds (`ProgramMonitoringSettings`).
MONITORING_FIELDS = (
    "missed_dose_days",
    "unreported_dose_counts_as_missed",
    "suggestion_window_days",
    "suggestion_min_checkin_adherence",
    "step_up_use_events",
)


def program_settings(program: Program) -> dict[str, Any]:
    """Every setting by field; the monitoring defaults until a supervisor saves them."""
    monitoring = monitoring_settings_of(program.id)
    return {key: getattr(program, key) for key in PROGRAM_FIELDS} | {
        key: getattr(monitoring, key) for key in MONITORING_FIELDS
    }
