"""Celery tasks of the notifications app (the worker finds them by autodiscovery)."""

from __future__ import annotations

from celery import shared_task

# The task name is what travels on the broker: it stays as it was when the task lived in
# backend/, so messages queued by an older release are still understood.
DISPATCH_NOW_TASK = "backend.dispatch_notifications_now"


@shared_task(name=DISPATCH_NOW_TASK, ignore_result=True)
def dispatch_notifications_now() -> None:
    """Deliver what just became due without waiting for the next tick."""
    from notifications.dispatch import dispatch_due

    dispatch_due()
