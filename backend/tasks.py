"""Celery task of the schedule registry (backend owns the schedule; each app owns its own
tasks, e.g. notifications/tasks.py)."""

from __future__ import annotations

from celery import shared_task

from backend.schedule import run_job


@shared_task(name="backend.run_periodic_job", ignore_result=True)
def run_periodic_job(name: str) -> None:
    run_job(name)
