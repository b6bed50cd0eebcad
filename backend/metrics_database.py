"""Gauges read from the database at scrape time: the truth no single process holds.

- the outbox's oldest due-but-unsent age per kind: "reminders are late";
- each periodic job's last successful start and whether its last run failed, as the
  workers recorded them (notifications.PeriodicJobRun): "the scheduler is not ticking",
  "the sweep is failing";
- crisis flags still open past their escalation time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db import DatabaseError
from django.db.models import Min, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from notifications.models import Notification, NotificationState, PeriodicJobRun
from recovery.models import Flag, FlagStatus, Severity


def _outbox_lag(now: datetime) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "iop_outbox_oldest_due_age_seconds",
        "Age of the oldest notification due but not sent, by kind (no series: none due)",
        labels=["kind"],
    )
    # Pending and due, or claimed by a dispatcher whose lease ran out: each side is read
    # through its own partial index (notifications.models), never a scan of the outbox.
    pending = Notification.objects.filter(state=NotificationState.PENDING, due_at__lte=now)
    stuck = Notification.objects.filter(state=NotificationState.SENDING, leased_until__lte=now)
    oldest_by_kind: dict[str, datetime] = {}
    for rows in (pending, stuck):
        for row in rows.values("kind").annotate(oldest=Min("due_at")).order_by():
            kind, oldest = row["kind"], row["oldest"]
            oldest_by_kind[kind] = min(oldest, oldest_by_kind.get(kind, oldest))
    for kind, oldest in sorted(oldest_by_kind.items()):
        family.add_metric([kind], max(0.0, (now - oldest).total_seconds()))
    return family


def _job_runs() -> Iterator[GaugeMetricFamily]:
    succeeded = GaugeMetricFamily(
        "iop_job_last_success_timestamp_seconds",
        "When the latest successful run of each periodic job started (Unix time)",
        labels=["job"],
    )
    failing = GaugeMetricFamily(
        "iop_job_last_run_failed",
        "1 if the latest finished run of the periodic job raised",
        labels=["job"],
    )
    for run in PeriodicJobRun.objects.order_by("name"):
        if run.succeeded_started_at is not None:
            succeeded.add_metric([run.name], run.succeeded_started_at.timestamp())
        failing.add_metric([run.name], 1.0 if run.last_error else 0.0)
    yield succeeded
    yield failing


def _crisis_unacknowledged(now: datetime) -> GaugeMetricFamily:
    # Escalation clears escalate_at and stamps escalated_at: either way its time has come.
    late = Flag.objects.filter(
        Q(escalate_at__lte=now) | Q(escalated_at__isnull=False),
        status=FlagStatus.OPEN,
        severity__gte=Severity.CRISIS,
    ).count()
    return GaugeMetricFamily(
        "iop_crisis_flags_unacknowledged_past_escalation",
        "Crisis flags nobody acknowledged by their escalation time",
        value=late,
    )


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        try:
            families = [_outbox_lag(now), *_job_runs(), _crisis_unacknowledged(now)]
        except DatabaseError:
            families = []
        yield from families
        yield GaugeMetricFamily(
            "iop_metrics_database_up",
            "1 if the database answered this scrape's questions",
            value=1.0 if families else 0.0,
        )

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Names only: the registry must not query the database when the collector registers.
        yield GaugeMetricFamily("iop_outbox_oldest_due_age_seconds", "", labels=["kind"])
        yield GaugeMetricFamily("iop_job_last_success_timestamp_seconds", "", labels=["job"])
        yield GaugeMetricFamily("iop_job_last_run_failed", "", labels=["job"])
        yield GaugeMetricFamily("iop_crisis_flags_unacknowledged_past_escalation", "")
        yield GaugeMetricFamily("iop_metrics_database_up", "")
