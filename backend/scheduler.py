"""Building the APScheduler for either mode."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from django.utils import timezone

from backend.schedule import PeriodicJob, last_successful_runs, periodic_jobs, run_job

logger = logging.getLogger(__name__)

# A late run is still worth running, however late (no grace limit: APScheduler's default
# of 1 s, or any finite grace, drops a run the process woke up too late for); several late
# runs collapse into one (coalesce), and one job never runs twice at once.
JOB_DEFAULTS: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}

# Jobs due at start are spread this far apart so they do not all hit the database at once.
START_STAGGER = timedelta(seconds=1)


def _run_inprocess(name: str) -> None:
    try:
        run_job(name)
    except Exception:
        logger.exception("periodic job %s failed", name)


def _enqueue(name: str) -> None:
    from backend.tasks import run_periodic_job

    try:
        run_periodic_job.delay(name)
    except Exception as exc:  # Redis down: the next tick enqueues again
        logger.warning("could not enqueue %s: %s", name, type(exc).__name__)


def first_run_at(job: PeriodicJob, *, last_run: datetime | None, now: datetime) -> datetime:
    """One interval after the last recorded run, or now if that is past or there is none:
    a restart neither postpones a job nor, restarted often enough, starves it."""
    if last_run is None:
        return now
    return max(now, last_run + timedelta(seconds=job.every_seconds))


def add_jobs(scheduler: BaseScheduler, *, mode: str) -> None:
    target = _run_inprocess if mode == "inprocess" else _enqueue
    last_runs = last_successful_runs()
    now = timezone.now()
    for index, job in enumerate(periodic_jobs()):
        start = first_run_at(job, last_run=last_runs.get(job.name), now=now + index * START_STAGGER)
        scheduler.add_job(
            target,
            "interval",
            seconds=job.every_seconds,
            start_date=start,
            next_run_time=start,
            args=[job.name],
            id=job.name,
            name=job.name,
            replace_existing=True,
            **JOB_DEFAULTS,
        )
