"""The Celery app. Workers run `celery -A backend worker`; the tasks are in notifications."""

import os
import time
from collections.abc import Mapping
from typing import Any

import structlog
from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

app = Celery("backend")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

task_log = structlog.get_logger("backend.task")
# Per running task: when it started and the context it bound. An eager task (the embedded
# default) runs inside a request, whose context it must give back as it found it.
_running: dict[str, tuple[float, Mapping[str, Any]]] = {}


@task_prerun.connect
def _bind_task(task_id: str = "", task: Any = None, **_: Any) -> None:
    tokens = structlog.contextvars.bind_contextvars(
        task=getattr(task, "name", None), task_id=task_id
    )
    _running[task_id] = (time.perf_counter(), tokens)


@task_postrun.connect
def _log_task(task_id: str = "", state: str | None = None, **_: Any) -> None:
    """One event per task: its name, id, state and duration (never its arguments)."""
    started, tokens = _running.pop(task_id, (None, {}))
    duration = None if started is None else round((time.perf_counter() - started) * 1000, 1)
    task_log.info("task", state=state, duration_ms=duration)
    structlog.contextvars.reset_contextvars(**tokens)
