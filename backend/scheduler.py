"""Building the APScheduler for either mode."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import BaseScheduler
from channels.db import database_sync_to_async
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


async def _run_on_server_loop(name: str) -> None:
    """An in-process job on the web server's own loop (the embedded default). Its body runs
    in a worker thread that asgiref ties to this loop, so what it sends to websockets
    (async_to_sync into the in-memory channel layer) is run back here, on the loop that
    owns the sockets' queues, instead of on a loop of its own in another thread."""
    await database_sync_to_async(_run_inprocess, thread_sensitive=False)(name)


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


def on_the_second(when: datetime) -> datetime:
    """`when`, or the next whole second after it. A job that starts now starts on a whole
    second, so its runs fall on whole seconds (every interval here is a whole number of
    seconds), as due times do: a reminder due at 17:00 is picked up by the run at
    17:00:00.0x, not one up to an interval later because the process happened to start at
    .9 of a second. (A job that waits out its last run's interval keeps that run's phase,
    which was itself on a second.)"""
    if when.microsecond == 0:
        return when
    return when.replace(microsecond=0) + timedelta(seconds=1)


def add_jobs(scheduler: BaseScheduler, *, mode: str) -> None:
    target: Callable[[str], Any] = _enqueue
    if mode == "inprocess":
        on_loop = isinstance(scheduler, AsyncIOScheduler)
        target = _run_on_server_loop if on_loop else _run_inprocess
    last_runs = last_successful_runs()
    now = on_the_second(timezone.now())
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


class ServerLoopScheduler:
    """The ASGI app, with an in-process scheduler that starts on the server's own event loop
    when the server starts (ASGI lifespan) and stops with it: `manage.py serve`."""

    def __init__(self, app: Any, scheduler: AsyncIOScheduler) -> None:
        self.app = app
        self.scheduler = scheduler

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.scheduler.start()  # on the running loop: uvicorn's
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.scheduler.running:
                    self.scheduler.shutdown(wait=False)
                await send({"type": "lifespan.shutdown.complete"})
                return
