"""`python manage.py run_scheduler`: the single production scheduler process."""

from __future__ import annotations

import contextlib
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from django.core.management.base import BaseCommand

from backend.scheduler import JOB_DEFAULTS, add_jobs


class Command(BaseCommand):
    help = "Run the periodic jobs, enqueuing each as a Celery task. Run exactly one."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--inprocess",
            action="store_true",
            help="Call the jobs in this process instead of enqueuing Celery tasks.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scheduler = BlockingScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
        add_jobs(scheduler, mode="inprocess" if options["inprocess"] else "celery")
        self.stdout.write("scheduler started")
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            scheduler.start()
