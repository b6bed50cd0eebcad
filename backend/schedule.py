"""The one schedule registry: every periodic job of the system, as plain functions.

Production: `manage.py run_scheduler` (exactly one process) enqueues each job as a Celery
task on its interval. Embedded default: `manage.py serve` runs the same jobs in-process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    function: str  # dotted path to a function taking no arguments
    every_seconds: float


def periodic_jobs() -> tuple[PeriodicJob, ...]:
    return (
        PeriodicJob(
            "dispatch_notifications",
            "notifications.dispatch.dispatch_due",
            settings.DISPATCH_INTERVAL_SECONDS,
        ),
        PeriodicJob(
            "sweep_missed_checkins",
            "recovery.services.sweep.sweep_missed_checkins",
            settings.SWEEP_INTERVAL_SECONDS,
        ),
        PeriodicJob("escalate_flags", "recovery.services.flags.flags_escalate_due", 60.0),
        PeriodicJob("expand_session_series", "recovery.services.series.series_expand_all", 3600.0),
        PeriodicJob("send_disclosures", "recovery.services.consent.disclosures_send_due", 60.0),
        PeriodicJob(
            "medication_adherence_sweep",
            "recovery.services.medications.medication_adherence_sweep",
            3600.0,
        ),
        PeriodicJob(
            "medication_reminders_top_up",
            "recovery.services.medications.medication_reminders_top_up",
            3600.0,
        ),
    )


def job_by_name(name: str) -> PeriodicJob:
    for job in periodic_jobs():
        if job.name == name:
            return job
    raise KeyError(name)


def run_job(name: str) -> Any:
    job = job_by_name(name)
    result = import_string(job.function)()
    logger.debug("job %s done: %s", name, result)
    return result
