"""Every Prometheus metric of the system, defined once; the code that does the thing calls
one line here. No label ever carries a person's id, a name or anything clinical: labels are
bounded vocabularies (a job, a channel, an outcome, a notification or flag kind, a route
pattern).

Processes: with PROMETHEUS_MULTIPROC_DIR set (production: web, worker and scheduler share
that directory), prometheus-client's multiprocess mode writes each process's values to
files there and the web's /metrics adds them up; without it (the embedded default, one
process) the values live in this process's registry. Gauges that the database knows better
than any process (the outbox's lag, the last run of each job, unacknowledged crisis flags)
are read at scrape time by backend/metrics_database.py.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from prometheus_client import values
from prometheus_client.metrics import Counter, Gauge, Histogram

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if MULTIPROCESS_DIR:
    # Containers sharing the directory each have a pid 1: the host name keeps their files
    # apart. Must be set before any metric below is created.
    values.ValueClass = values.MultiProcessValue(lambda: f"{socket.gethostname()}-{os.getpid()}")

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
ROW_BUCKETS = (0, 1, 10, 50, 100, 500, 1000, 5000, 10000, 50000)
ACK_BUCKETS = (30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400)

HTTP_REQUESTS = Counter(
    "iop_http_requests", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "iop_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=DURATION_BUCKETS,
)

NOTIFICATION_SENDS = Counter(
    "iop_notification_sends",
    "Deliveries tried, by channel (websocket, push, email) and outcome",
    ["channel", "outcome"],
)
FCM_THROTTLED = Counter("iop_fcm_throttled", "FCM answers 429 (the project's quota is spent)")
DEVICES_DEACTIVATED = Counter(
    "iop_devices_deactivated", "Devices turned off because their address is dead", ["reason"]
)

WEBSOCKETS_OPEN = Gauge(
    "iop_websocket_connections_open",
    "Websocket connections open now",
    multiprocess_mode="livesum",
)
WEBSOCKET_EVENTS_SENT = Counter("iop_websocket_events_sent", "Events written to websockets")
WEBSOCKET_EVENTS_ACKED = Counter(
    "iop_websocket_events_acked", "Event ids the apps acknowledged over websockets"
)

JOB_RUNS = Counter("iop_job_runs", "Periodic job runs, by outcome (ok, error)", ["job", "outcome"])
JOB_DURATION = Histogram(
    "iop_job_duration_seconds",
    "Time one run of a periodic job took",
    ["job"],
    buckets=DURATION_BUCKETS,
)
JOB_ROWS = Histogram(
    "iop_job_rows",
    "Rows one run of a periodic job handled (claimed)",
    ["job"],
    buckets=ROW_BUCKETS,
)

FLAGS_RAISED = Counter("iop_flags_raised", "Flags raised, by kind", ["kind"])
FLAG_TIME_TO_ACK = Histogram(
    "iop_flag_time_to_acknowledge_seconds",
    "From a flag being raised to its first acknowledgement, by severity",
    ["severity"],
    buckets=ACK_BUCKETS,
)

CONSENT_EMAILS = Counter(
    "iop_consent_emails",
    "Disclosure emails to support contacts, by outcome (sent, blocked: consent refused it, failed)",
    ["outcome"],
)


def count_sends(channel: str, outcomes: Iterable[Any]) -> None:
    """One delivery outcome per item (a PushResult's outcome, or a bool for "made")."""
    for outcome in outcomes:
        if isinstance(outcome, bool):
            outcome = "sent" if outcome else "missed"
        NOTIFICATION_SENDS.labels(channel=channel, outcome=str(outcome)).inc()


def count_fcm_answer(*, throttled: bool) -> None:
    if throttled:
        FCM_THROTTLED.inc()


def rows_of(result: Any) -> int | None:
    """How many rows a job's result says it handled: a report's `claimed` or `schedules`,
    or a plain count."""
    for attribute in ("claimed", "schedules", "rows"):
        value = getattr(result, attribute, None)
        if isinstance(value, int):
            return value
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    return None


def observe_job(name: str, *, seconds: float, result: Any = None, failed: bool = False) -> None:
    JOB_RUNS.labels(job=name, outcome="error" if failed else "ok").inc()
    JOB_DURATION.labels(job=name).observe(seconds)
    rows = None if failed else rows_of(result)
    if rows is not None:
        JOB_ROWS.labels(job=name).observe(rows)


def count_flags_raised(kinds: Iterable[str]) -> None:
    for kind in kinds:
        FLAGS_RAISED.labels(kind=kind).inc()


def observe_first_acknowledgement(*, severity: str, after: timedelta) -> None:
    FLAG_TIME_TO_ACK.labels(severity=severity.lower()).observe(max(0.0, after.total_seconds()))
