"""The one schedule registry: every job resolves to a callable and runs on an empty DB."""

from __future__ import annotations

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from django.utils.module_loading import import_string

from backend.schedule import periodic_jobs, run_job
from backend.scheduler import JOB_DEFAULTS, add_jobs

pytestmark = pytest.mark.django_db


def test_every_job_names_a_function_and_runs():
    names = [job.name for job in periodic_jobs()]
    assert len(names) == len(set(names))
    for job in periodic_jobs():
        assert callable(import_string(job.function))
        run_job(job.name)


@pytest.mark.parametrize("mode", ["inprocess", "celery"])
def test_the_scheduler_coalesces_and_never_overlaps_a_job(mode):
    scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    add_jobs(scheduler, mode=mode)
    jobs = scheduler.get_jobs()
    assert {job.id for job in jobs} == {job.name for job in periodic_jobs()}
    for job in jobs:
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time >= 60
