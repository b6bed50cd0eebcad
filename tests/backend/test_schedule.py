"""The one schedule registry: every job resolves to a callable and runs on an empty DB; a
restarted scheduler runs every job soon, or catches up from its last recorded run."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
import time_machine
from apscheduler.schedulers.background import BackgroundScheduler
from django.db import connection
from django.utils.module_loading import import_string

import backend.schedule
import backend.scheduler
from backend.schedule import last_successful_runs, periodic_jobs, run_job
from backend.scheduler import JOB_DEFAULTS, START_STAGGER, add_jobs
from notifications.models import PeriodicJobRun

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


def test_every_job_names_a_function_and_runs():
    names = [job.name for job in periodic_jobs()]
    assert len(names) == len(set(names))
    for job in periodic_jobs():
        assert callable(import_string(job.function))
        run_job(job.name)


@pytest.mark.parametrize("mode", ["inprocess", "celery"])
def test_the_scheduler_coalesces_runs_late_runs_and_never_overlaps_a_job(mode):
    scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    add_jobs(scheduler, mode=mode)
    jobs = scheduler.get_jobs()
    assert {job.id for job in jobs} == {job.name for job in periodic_jobs()}
    for job in jobs:
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time is None  # however late, it still runs


def _next_runs(mode: str = "inprocess") -> dict[str, datetime]:
    scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    add_jobs(scheduler, mode=mode)
    scheduler.start(paused=True)
    try:
        return {job.id: job.next_run_time for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)


@pytest.mark.parametrize("mode", ["inprocess", "celery"])
def test_after_a_restart_with_no_history_every_job_runs_within_seconds(mode):
    with time_machine.travel(NOW, tick=False):
        next_runs = _next_runs(mode)
    soon = NOW + START_STAGGER * len(next_runs)
    assert set(next_runs) == {job.name for job in periodic_jobs()}
    assert all(NOW <= when <= soon for when in next_runs.values()), next_runs


def test_runs_fall_on_whole_seconds_like_due_times_whatever_the_start():
    """A reminder due at a whole second is picked up by a run at that second, not up to an
    interval later because the scheduler started at .6 of a second."""
    started = NOW + timedelta(microseconds=600_000)
    with time_machine.travel(started, tick=False):
        next_runs = _next_runs()
    assert all(when.microsecond == 0 for when in next_runs.values()), next_runs
    assert next_runs["dispatch_notifications"] == NOW + timedelta(seconds=1)


def test_a_job_that_ran_long_ago_runs_at_once_and_a_recent_one_waits_only_the_remainder():
    PeriodicJobRun.objects.create(
        name="medication_adherence_sweep",
        started_at=NOW - timedelta(days=2),
        succeeded_started_at=NOW - timedelta(days=2),
    )
    PeriodicJobRun.objects.create(
        name="expand_session_series",
        started_at=NOW - timedelta(minutes=20),
        succeeded_started_at=NOW - timedelta(minutes=20),
    )
    # Started recently but never finished (the process died): that is no run.
    PeriodicJobRun.objects.create(
        name="medication_reminders_top_up",
        started_at=NOW - timedelta(minutes=5),
        succeeded_started_at=NOW - timedelta(days=1),
    )
    with time_machine.travel(NOW, tick=False):
        next_runs = _next_runs()
    soon = NOW + START_STAGGER * len(next_runs)
    assert next_runs["medication_adherence_sweep"] <= soon
    assert next_runs["medication_reminders_top_up"] <= soon
    assert next_runs["expand_session_series"] == NOW + timedelta(minutes=40)


def test_run_job_records_the_run_and_the_next_start_counts_from_it(monkeypatch):
    with time_machine.travel(NOW, tick=False):
        run_job("medication_adherence_sweep")
    run = PeriodicJobRun.objects.get(name="medication_adherence_sweep")
    assert (run.succeeded_started_at, run.finished_at, run.last_error) == (NOW, NOW, "")

    later = NOW + timedelta(minutes=15)
    with time_machine.travel(later, tick=False):
        assert _next_runs()["medication_adherence_sweep"] == NOW + timedelta(hours=1)

    def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("recovery.services.medications.medication_adherence_sweep", broken)
    with time_machine.travel(later, tick=False), pytest.raises(RuntimeError):
        run_job("medication_adherence_sweep")
    run.refresh_from_db()
    assert (run.started_at, run.succeeded_started_at) == (later, NOW)
    assert run.last_error == "RuntimeError"


def _run_scheduler_until_every_job_ran(
    monkeypatch: Any, *, late_by: timedelta = timedelta(0)
) -> set[str]:
    everyone = {job.name for job in periodic_jobs()}
    ran: set[str] = set()
    all_ran = threading.Event()

    def record(name: str) -> None:
        ran.add(name)
        if ran >= everyone:
            all_ran.set()

    monkeypatch.setattr(backend.scheduler, "run_job", record)
    scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    add_jobs(scheduler, mode="inprocess")
    scheduler.start(paused=True)
    for job in scheduler.get_jobs():
        # A process that slept past its jobs (a suspended VM, a long GC pause).
        job.modify(next_run_time=job.next_run_time - late_by)
    scheduler.resume()
    try:
        all_ran.wait(timeout=10)
    finally:
        scheduler.shutdown(wait=False)
    return ran


def _no_op() -> None:
    """Every job's function while the scheduler itself is under test."""


def _start_real_scheduler(until: set[str]) -> tuple[set[str], dict[str, datetime]]:
    """Start a scheduler whose jobs go through the real run_job (so each run is recorded
    as in production); stop it once every job of `until` ran. Returns the jobs that ran
    and each job's first run time as the start planned it."""
    ran: set[str] = set()
    done = threading.Event()

    def run_and_note(name: str) -> None:
        try:
            backend.schedule.run_job(name)
        finally:
            connection.close()  # this scheduler thread's own connection
        ran.add(name)
        if ran >= until:
            done.set()

    scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    with mock.patch.object(backend.scheduler, "run_job", run_and_note):
        add_jobs(scheduler, mode="inprocess")
        scheduler.start(paused=True)
        planned = {job.id: job.next_run_time for job in scheduler.get_jobs()}
        scheduler.resume()
        try:
            done.wait(timeout=10)
        finally:
            scheduler.shutdown(wait=True)
    return set(ran), planned


@pytest.mark.django_db(transaction=True)  # the scheduler's thread writes the run history
def test_a_restarted_scheduler_runs_every_job_and_honours_the_runs_it_recorded(monkeypatch):
    monkeypatch.setattr(backend.scheduler, "START_STAGGER", timedelta(0))
    stubbed = tuple(
        dataclasses.replace(job, function=f"{__name__}._no_op") for job in periodic_jobs()
    )
    monkeypatch.setattr(backend.schedule, "periodic_jobs", lambda: stubbed)
    monkeypatch.setattr(backend.scheduler, "periodic_jobs", lambda: stubbed)
    everyone = {job.name for job in stubbed}
    hourly = {job.name for job in stubbed if job.every_seconds >= 3600}
    frequent = everyone - hourly  # every few seconds up to a minute
    assert hourly
    assert frequent

    with time_machine.travel(NOW, tick=True):
        first, _ = _start_real_scheduler(until=everyone)
    assert first == everyone
    recorded = last_successful_runs()
    assert set(recorded) == everyone

    # Restarted two minutes later: the frequent jobs are due again and run; the hourly
    # (and daily) ones just ran, so they wait out their interval instead of running again.
    with time_machine.travel(NOW + timedelta(minutes=2), tick=True):
        second, planned = _start_real_scheduler(until=frequent)
    assert second == frequent
    interval = {job.name: timedelta(seconds=job.every_seconds) for job in stubbed}
    for name in hourly:
        assert planned[name] == recorded[name] + interval[name], name
    assert last_successful_runs().keys() == recorded.keys()
    for name in hourly:
        assert last_successful_runs()[name] == recorded[name]


def test_a_job_that_wakes_up_late_still_runs(monkeypatch):
    monkeypatch.setattr(backend.scheduler, "START_STAGGER", timedelta(0))
    ran = _run_scheduler_until_every_job_ran(monkeypatch, late_by=timedelta(minutes=30))
    assert ran == {job.name for job in periodic_jobs()}


def test_serve_runs_the_jobs_on_the_servers_own_loop(monkeypatch, settings):
    """On the embedded default the jobs' websocket sends (async_to_sync into the in-memory
    channel layer) must run on the loop that serves the sockets, not on one of their own."""
    import asyncio
    from unittest import mock

    from asgiref.sync import async_to_sync
    from django.core.management import call_command

    settings.SCHEDULER_MODE = "inprocess"
    monkeypatch.setattr(backend.scheduler, "START_STAGGER", timedelta(0))
    send_loops: list[asyncio.AbstractEventLoop] = []

    async def where_a_send_runs() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def job(name: str) -> None:
        send_loops.append(async_to_sync(where_a_send_runs)())

    monkeypatch.setattr(backend.scheduler, "run_job", job)
    with mock.patch("uvicorn.run") as run:
        call_command("serve")
    app = run.call_args.args[0]

    async def serve_until_a_job_ran() -> asyncio.AbstractEventLoop:
        inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        outbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        await inbox.put({"type": "lifespan.startup"})
        lifespan = asyncio.create_task(app({"type": "lifespan"}, inbox.get, outbox.put))
        assert (await asyncio.wait_for(outbox.get(), 5))["type"] == "lifespan.startup.complete"
        for _ in range(100):
            if send_loops:
                break
            await asyncio.sleep(0.05)
        await inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(lifespan, 5)
        return asyncio.get_running_loop()

    server_loop = asyncio.run(serve_until_a_job_ran())
    assert send_loops, "no job ran"
    assert all(loop is server_loop for loop in send_loops)
