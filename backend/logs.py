"""Structured logs: one JSON object per line in production (LOG_FORMAT=json, the default
when DEBUG is off), plain lines for a developer.

Every record, from structlog or the standard library, carries what the context bound: the
request id, user id and role for a request (backend/request_log.py), the job name for a
periodic job or Celery task. Nothing else about the person is ever logged: loggers name
ids, never content, and no request or response body is logged anywhere.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

# Runs for records of both structlog and the standard library.
SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def json_formatter() -> logging.Formatter:
    """The handler's formatter for LOG_FORMAT=json (named in settings.LOGGING)."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )


def plain_formatter() -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
    )


def configure_structlog() -> None:
    """structlog's own loggers hand their events to the standard library's handlers, so
    one LOGGING setting decides where and how everything is written."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


class PathFree(logging.Filter):
    """Django's own request lines ("Not Found: /api/v1/patients/45/safety-plan/") name the
    path, which holds ids and says what was looked at; the request event of
    backend.request_log says the same with the route pattern. Keep the status only."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = "response %s"
        record.args = (getattr(record, "status_code", "?"),)
        return True
