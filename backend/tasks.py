"""Celery tasks: thin wrappers over the schedule registry's plain functions."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from backend.schedule import run_job


@shared_task(name="backend.run_periodic_job", ignore_result=True)
def run_periodic_job(name: str) -> None:
    run_job(name)


@shared_task(name="backend.dispatch_notifications_now", ignore_result=True)
def dispatch_notifications_now() -> Any:
    """Deliver what just became due without waiting for the next tick."""
    from notifications.dispatch import dispatch_due

    dispatch_due()
