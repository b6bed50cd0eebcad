"""Building the APScheduler for either mode."""

from __future__ import annotations

import logging
from typing import Any

from apscheduler.schedulers.base import BaseScheduler

from backend.schedule import periodic_jobs, run_job

logger = logging.getLogger(__name__)

# A late run is still worth running; several late runs collapse into one (coalesce), and
# one job never runs twice at once. APScheduler's default grace of 1 s skips late runs.
JOB_DEFAULTS: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}


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


def add_jobs(scheduler: BaseScheduler, *, mode: str) -> None:
    target = _run_inprocess if mode == "inprocess" else _enqueue
    for job in periodic_jobs():
        scheduler.add_job(
            target,
            "interval",
            seconds=job.every_seconds,
            args=[job.name],
            id=job.name,
            name=job.name,
            replace_existing=True,
            **JOB_DEFAULTS,
        )
