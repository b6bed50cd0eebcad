"""The one schedule registry: every periodic job of the system, as plain functions.

Production: `manage.py run_scheduler` (exactly one process) enqueues each job as a Celery
task on its interval. Embedded default: `manage.py serve` runs the same jobs in-process.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from django.utils.module_loading import import_string

from backend import metrics

logger = logging.getLogger(__name__)
job_log = structlog.get_logger("backend.job")


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
        # Questionnaires are due by the day: an hourly look is soon enough.
        PeriodicJob(
            "questionnaires_sweep",
            "recovery.services.questionnaire_schedules.questionnaires_sweep",
            3600.0,
        ),
        # Silences are counted in days: an hourly look is soon enough.
        PeriodicJob("nudge_silent_apps", "recovery.services.presence.nudge_silent_apps", 3600.0),
        # Periods are counted in years: once a day deletes what expired (audited).
        PeriodicJob("apply_retention", "recovery.services.retention.retention_apply_due", 86400.0),
        # Milestones are reached at each patient's local midnight: hourly reaches every zone.
        PeriodicJob(
            "recovery_milestones",
            "recovery.services.milestones.recovery_milestones_detect",
            3600.0,
        ),
    )


def job_by_name(name: str) -> PeriodicJob:
    for job in periodic_jobs():
        if job.name == name:
            return job
    raise KeyError(name)


def run_job(name: str) -> Any:
    """Run one job here and now, recording the run: this is what "last run" means when a
    restarted scheduler decides how long each job still has to wait."""
    from notifications.models import PeriodicJobRun

    job = job_by_name(name)
    started_at = timezone.now()
    PeriodicJobRun.objects.update_or_create(
        name=name, defaults={"started_at": started_at, "finished_at": None}
    )
    clock = time.perf_counter()
    tokens = structlog.contextvars.bind_contextvars(job=name, job_run=uuid.uuid4().hex)
    try:
        result = import_string(job.function)()
    except Exception as exc:
        metrics.observe_job(name, seconds=time.perf_counter() - clock, failed=True)
        _log_job(name, seconds=time.perf_counter() - clock, error=type(exc).__name__)
        structlog.contextvars.reset_contextvars(**tokens)
        PeriodicJobRun.objects.filter(name=name, started_at=started_at).update(
            finished_at=timezone.now(), last_error=type(exc).__name__[:200]
        )
        raise
    metrics.observe_job(name, seconds=time.perf_counter() - clock, result=result)
    _log_job(name, seconds=time.perf_counter() - clock, rows=metrics.rows_of(result))
    structlog.contextvars.reset_contextvars(**tokens)
    PeriodicJobRun.objects.filter(name=name, started_at=started_at).update(
        finished_at=timezone.now(), succeeded_started_at=started_at, last_error=""
    )
    logger.debug("job %s done: %s", name, result)
    return result


def _log_job(name: str, *, seconds: float, rows: int | None = None, error: str = "") -> None:
    """The one event of a job run: its outcome and size, never what it touched."""
    job_log.info(
        "job",
        outcome="error" if error else "ok",
        error=error or None,
        rows=rows,
        duration_ms=round(seconds * 1000, 1),
    )


def last_successful_runs() -> dict[str, datetime]:
    """Each job's latest complete run (its start), by name. A database that cannot answer
    (not migrated yet, unreachable) means no record: every job then runs soon."""
    from notifications.models import PeriodicJobRun

    try:
        rows = PeriodicJobRun.objects.filter(succeeded_started_at__isnull=False).values_list(
            "name", "succeeded_started_at"
        )
        return {name: started for name, started in rows if started is not None}
    except DatabaseError as exc:
        logger.warning("no job run history, every job runs soon: %s", type(exc).__name__)
        return {}
