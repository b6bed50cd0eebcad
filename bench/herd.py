"""The 09:00 herd: every reminder due at the same instant, against FCM's per-minute quota.

N notifications (full: 50,000; quick: 1,000) for N devices, all due at the same instant T,
go through the real dispatcher (`notifications.dispatch.dispatch_due`) and the real FCM
backend (PUSH_BACKEND=fcm: firebase-admin over real HTTP) to the fake FCM server
(tests/fakes/fcm_server.py, its own process, 5 ms per request) in quota mode. This
process plays the scheduler: `dispatch_due()` on a 1 s tick, as `run_scheduler` runs it
(APScheduler with max_instances=1 and coalesce: a tick that is still running when the next
one is due makes that one skip), until every row is settled or a time bound passes (full:
420 s after T, 540 s for the throttled herd; quick: 30 s; checked between ticks, and one
dispatch_due call is bounded by the herd's size).

Two scenarios on the same rows (reset in between):

* `fit`: the quota is the herd size per minute, so the quota itself never forces a message
  into the next minute. The headline keys (`herd.delivered`, `herd.unhandled_429`,
  `herd.p99_lateness_s`, ...) are this scenario's: what the dispatcher's own throughput
  gives.
* `throttled` (`herd.throttled.*`): a quota below the herd size (full: 10,000 per minute
  for 50,000; quick: 600 for 1,000). Whatever does not fit in the first minute can only
  go out in a later one, so a p99 lateness under 60 s is impossible by construction here;
  what counts is that every message still goes out (0 unhandled 429: none runs out of
  NOTIFICATION_MAX_ATTEMPTS while throttled) and how soon after the quota frees up. The
  quota must be below what the dispatcher can send in a minute, or it never bites: 30,000
  per minute did not (the dispatcher sent 12,000 to 17,000 a minute on the 2-core machine
  this was written on); a note says so whenever no 429 was answered.

The fake's quota minute is a wall-clock minute. A herd due "at 09:00" starts at the top of
a minute: the fake server's clock is shifted so that its quota minute starts exactly at T
(no waiting for the real top of the minute). In quick mode the throttled scenario starts
8 s before the end of the fake's minute instead, so that the quota both bites and frees
up within the quick budget; the full run starts at the top of the minute.

The fake server is wrapped here (`python -m bench.herd --fake-fcm ...`) to record, per
notification, the first time it was accepted and whether it was ever answered 429:

* `delivered`: notifications the fake accepted at least once (unique ids);
* `unhandled_429`: notifications answered 429 at least once and never accepted afterwards
  (they ended FAILED, or were still waiting when the time bound passed);
* `p50_lateness_s`, `p99_lateness_s`, `max_lateness_s`: first acceptance at the fake - T
  over the whole herd (a notification never delivered counts as the time bound: the
  figure is then a lower bound, and a note says so);
* `bare_client_s`: how long a bare httpx client takes to send the same number of pushes
  to the same fake (no quota, same concurrency, measured in the same run, before the
  herd); `p99_lateness_to_bare`: the fit herd's p99 lateness over that, the share of the
  herd's lateness that the dispatcher adds on top of the HTTP itself (target <= 1.25);
* `p99_sent_at_lateness_s`: the dispatcher's own record, `sent_at - T` (sent_at is stamped
  when the batch's sends returned);
* `seconds_total`: T to the last acceptance;
* `responses_429`, `requests`: answers the fake gave; `failed`: rows that ended FAILED;
  `max_attempts`: the most attempts any row took; `ticks`: dispatcher runs;
* `push_received`, `push_received_share`: the app's side. The fake plays the phones: every
  push it accepted is confirmed received, at the moment it accepted it, through the
  service the receipt endpoint (`POST notifications/{id}/received/`) calls; these are the
  rows that then carry a push receipt, and their share of the herd (not timed).

Database: PostgreSQL if available (BENCH_DATABASE_URL, DATABASE_URL, or a throwaway
server), else a SQLite file.

    .venv/bin/python -m bench.herd [--quick] [--json-out PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import (
    PYTHON,
    ROOT,
    UNUSABLE,
    Report,
    Target,
    cli,
    cumulative_per_second,
    db_version,
    fresh_database,
    percentile,
    postgres_server,
    progress,
    rounded,
    setup_django,
)

SIZE, QUICK_SIZE = 50_000, 1_000
TIGHT_QUOTA, QUICK_TIGHT_QUOTA = 10_000, 600
LATENCY_MS = 5
TICK_S = 1.0
# Per scenario, from T: past this, the herd is given up and what is left is reported.
BOUND_S, QUICK_BOUND_S = 420.0, 30.0
# The throttled herd needs size / quota minutes at least, plus the dispatcher's backoff.
THROTTLED_BOUND_S = 540.0
# Where in the fake's quota minute T falls (0: the top of the minute, "09:00").
PHASE_S, QUICK_THROTTLED_PHASE_S = 0.0, 52.0
LEAD_S = 1.0  # T is at least this far ahead of the moment the rows are made due,
UPDATE_ROWS_PER_S = 25_000  # plus the time to make them due, at about this rate
CONCURRENCY = 100  # FCM_MAX_CONCURRENCY, the settings' default
WARMUP = 20
FAKE_START_TIMEOUT_S = 30.0
POPULATE_BATCH = 2_000

Number = float | int


# --- The fake FCM server, wrapped --------------------------------------------------------


class _ShiftedClock:
    """The fake's `time` module with `time()` moved by `offset` seconds: its quota minute
    is a wall-clock minute, and this places the start of one where the benchmark wants."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def time(self) -> float:
        return time.time() + self.offset

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def serve_fake(args: argparse.Namespace) -> None:
    """The fake FCM server process: FakeFCMServer plus per-notification records, and
    `POST /_herd/config` {"quota_per_minute", "clock_offset"} / `GET /_herd` routes."""
    from tests.fakes import fcm_server
    from tests.fakes.fcm_server import Answer, FakeFCMServer

    clock = _ShiftedClock()
    fcm_server.time = clock  # type: ignore[assignment]

    class HerdFCM(FakeFCMServer):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.first_accepted: dict[str, float] = {}
            self.throttled: set[str] = set()

        def _answer_locked(
            self, project: str, target: str, seen: int, message: dict[str, Any]
        ) -> Answer:
            answer = super()._answer_locked(project, target, seen, message)
            data = message.get("data")
            nid = str(data.get("notification_id", "")) if isinstance(data, dict) else ""
            if answer[0] == 200:
                self.first_accepted.setdefault(nid, time.time())
            elif answer[0] == 429:
                self.throttled.add(nid)
            return answer

        def reset(self) -> None:
            super().reset()
            with self._lock:
                self.first_accepted.clear()
                self.throttled.clear()

        def _route(self, method: str, path: str, body: bytes) -> Answer:
            if path == "/_herd" and method == "GET":
                with self._lock:
                    return (
                        200,
                        {
                            "first_accepted": self.first_accepted,
                            "throttled": sorted(self.throttled),
                            "accepted": len(self._received),
                            "requests": self._requests,
                            "statuses": {str(k): v for k, v in self._statuses.items()},
                            "max_in_flight": self._max_in_flight,
                        },
                        {},
                    )
            if path == "/_herd/config" and method == "POST":
                config = json.loads(body or b"{}")
                self.reset()
                with self._lock:
                    self.quota_per_minute = config.get("quota_per_minute")
                    clock.offset = float(config.get("clock_offset", 0.0))
                return 200, {}, {}
            return super()._route(method, path, body)

    HerdFCM(latency_ms=args.latency_ms, host="127.0.0.1", port=0).serve_forever()


def _read_line(stream: Any, *, timeout: float) -> str:
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return line[0].strip() if line else ""


@contextlib.contextmanager
def fake_fcm(latency_ms: int) -> Iterator[str]:
    """The wrapped fake FCM server as a child process; yields its messages:send URL."""
    proc = subprocess.Popen(
        [PYTHON, "-m", "bench.herd", "--fake-fcm", "--latency-ms", str(latency_ms)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        url = _read_line(proc.stdout, timeout=FAKE_START_TIMEOUT_S)
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError("the fake FCM server did not start")
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _base(url: str) -> str:
    return url.split("/v1/", 1)[0]


def configure_fake(url: str, *, quota: int | None, clock_offset: float) -> None:
    import httpx

    body = {"quota_per_minute": quota, "clock_offset": clock_offset}
    httpx.post(f"{_base(url)}/_herd/config", json=body, timeout=10).raise_for_status()


def fake_records(url: str) -> dict[str, Any]:
    import httpx

    response = httpx.get(f"{_base(url)}/_herd", timeout=60)
    response.raise_for_status()
    return dict(response.json())


# --- Data --------------------------------------------------------------------------------


def populate(size: int) -> list[int]:
    """`size` patients with one active device each; returns the user ids."""
    from django.db import transaction
    from django.utils import timezone

    from notifications.models import Device
    from recovery.models import Program, Role, User

    now = timezone.now()
    with transaction.atomic():
        program = Program.objects.create(name="Bench IOP", timezone="America/New_York")
        User.objects.bulk_create(
            (
                User(
                    username=f"herd-{i:06d}", role=Role.PATIENT, program=program, password=UNUSABLE
                )
                for i in range(size)
            ),
            batch_size=POPULATE_BATCH,
        )
        users = list(
            User.objects.filter(program=program).order_by("id").values_list("id", flat=True)
        )
        Device.objects.bulk_create(
            (
                Device(
                    user_id=user_id,
                    address=f"herd-token-{i:06d}",
                    address_kind="token",
                    platform="android",
                    last_seen_at=now,
                )
                for i, user_id in enumerate(users)
            ),
            batch_size=POPULATE_BATCH,
        )
    return users


def queue_herd(users: list[int], due: datetime, label: str) -> None:
    """One session reminder per patient, all due at `due` (earlier rows are deleted)."""
    from django.db import transaction

    from notifications.models import Notification
    from recovery.notification_kinds import NotificationKind

    with transaction.atomic():
        Notification.objects.all().delete()
        Notification.objects.bulk_create(
            (
                Notification(
                    recipient_id=user_id,
                    kind=NotificationKind.SESSION_REMINDER,
                    dedupe_key=f"herd-{label}-{i:06d}",
                    title="Process group at 9 am",
                    body="Group therapy with your counselor this morning.",
                    due_at=due,
                    expires_at=due + timedelta(hours=2),
                    created_at=due - timedelta(hours=12),
                )
                for i, user_id in enumerate(users)
            ),
            batch_size=POPULATE_BATCH,
        )


def confirm_receipts(first_accepted: dict[str, float]) -> int:
    """The phones' side: every push the fake accepted is confirmed received, at the moment
    it was accepted, through the service the receipt endpoint calls (per notification, as
    each app would). Returns how many rows now carry a push receipt."""
    from django.db import transaction

    from notifications.models import Notification
    from notifications.services import notifications_receive

    recipients = dict(
        Notification.objects.filter(id__in=[int(n) for n in first_accepted]).values_list(
            "id", "recipient_id"
        )
    )
    with transaction.atomic():
        for nid, accepted in first_accepted.items():
            notifications_receive(
                user_id=recipients[int(nid)],
                ids=[int(nid)],
                channel="push",
                now=datetime.fromtimestamp(accepted, tz=UTC),
            )
    return Notification.objects.filter(push_received_at__isnull=False).count()


def unsettled() -> int:
    from notifications.models import Notification, NotificationState

    return Notification.objects.filter(
        state__in=[NotificationState.PENDING, NotificationState.SENDING]
    ).count()


# --- One scenario ------------------------------------------------------------------------


@dataclass
class Outcome:
    results: dict[str, Number]
    notes: list[str]
    # Delivered by the end of each second after T, for bench/plots.py.
    delivered_by_second: list[int]


def warm_up(url: str, users: list[int]) -> None:
    """Build the FCM backend and every shard's App (once per process in production) and
    send a few messages, so the herd does not pay for the first connections."""
    from django.utils import timezone

    from notifications.dispatch import dispatch_due
    from notifications.push import get_push_backend
    from notifications.push.fcm import FCMConfig, _runtime_for

    get_push_backend()
    runtime = _runtime_for(FCMConfig.from_settings())
    for shard in range(len(runtime.apps)):
        runtime.app_for(shard)
    configure_fake(url, quota=None, clock_offset=0.0)
    queue_herd(users[:WARMUP], timezone.now() - timedelta(seconds=1), "warmup")
    report = dispatch_due()
    if report.sent != WARMUP:
        raise RuntimeError(f"warm-up: sent {report.sent} of {WARMUP} ({report})")


def run_scenario(
    url: str, users: list[int], *, quota: int, phase_s: float, bound_s: float, label: str
) -> Outcome:
    from django.db.models import Max

    from notifications.dispatch import dispatch_due
    from notifications.models import Notification, NotificationState

    size = len(users)
    # The rows are written first, due in a day; then one UPDATE makes them all due at T,
    # a whole second ahead (time for that UPDATE), so that writing the rows is not counted
    # as lateness.
    # The fake's quota minute is placed so that T falls `phase_s` into it.
    queue_herd(users, datetime.now(tz=UTC) + timedelta(days=1), label)
    due_ts = math.ceil(time.time() + LEAD_S + size / UPDATE_ROWS_PER_S)
    due = datetime.fromtimestamp(due_ts, tz=UTC)
    clock_offset = (phase_s - due_ts % 60) % 60
    configure_fake(url, quota=quota, clock_offset=clock_offset)
    Notification.objects.update(due_at=due)
    notes: list[str] = []
    if time.time() > due_ts:
        notes.append(
            f"herd ({label}): making the rows due took until {time.time() - due_ts:.1f} s "
            "after T; the lateness includes that"
        )
    deadline = due_ts + bound_s
    ticks = 0
    errors: list[str] = []
    # The scheduler's ticks: T, T + 1 s, ...; a run that overlaps the next tick skips it.
    next_tick = float(due_ts)
    while True:
        now = time.time()
        if now < next_tick:
            time.sleep(next_tick - now)
        if time.time() > deadline:
            break
        report = dispatch_due()
        ticks += 1
        errors.extend(report.errors)
        if unsettled() == 0:
            break
        finished = time.time()
        next_tick += TICK_S * max(1, math.ceil((finished - next_tick) / TICK_S))
    ended = time.time()
    records = fake_records(url)

    ids = {str(n) for n in Notification.objects.values_list("id", flat=True)}
    first = {k: v for k, v in records["first_accepted"].items() if k in ids}
    throttled = set(records["throttled"]) & ids
    delivered = len(first)
    lateness = [t - due_ts for t in first.values()]
    missing = size - delivered
    waited = ended - due_ts
    herd_lateness = lateness + [waited] * missing
    failed = Notification.objects.filter(state=NotificationState.FAILED).count()
    sent_rows = list(
        Notification.objects.filter(state=NotificationState.SENT).values_list("sent_at", flat=True)
    )
    sent_lateness = [s.timestamp() - due_ts for s in sent_rows if s is not None]
    max_attempts = Notification.objects.aggregate(m=Max("attempts"))["m"] or 0
    confirmed = confirm_receipts(first)
    statuses = records["statuses"]
    results: dict[str, Number] = {
        "size": size,
        "quota_per_minute": quota,
        "delivered": delivered,
        "unhandled_429": len(throttled - set(first)),
        "throttled_notifications": len(throttled),
        "responses_429": int(statuses.get("429", 0)),
        "requests": int(records["requests"]),
        "failed": failed,
        "max_attempts": int(max_attempts),
        "ticks": ticks,
        "p50_lateness_s": rounded(percentile(herd_lateness, 50)),
        "p99_lateness_s": rounded(percentile(herd_lateness, 99)),
        "max_lateness_s": rounded(max(herd_lateness)),
        "seconds_total": rounded(max(lateness) if lateness else waited),
        "msgs_per_s": rounded(delivered / max(lateness), 1) if lateness else 0.0,
        "push_received": confirmed,
        "push_received_share": rounded(confirmed / size, 4) if size else 0.0,
    }
    if sent_lateness:
        results["p99_sent_at_lateness_s"] = rounded(percentile(sent_lateness, 99))
    if missing:
        notes.append(
            f"herd ({label}): {missing} of {size} not delivered within {bound_s:.0f} s of T; "
            "they count as that bound in the lateness percentiles, which are lower bounds"
        )
    if errors:
        notes.append(f"herd ({label}): dispatcher errors: {sorted(set(errors))}")
    if quota < size and not results["responses_429"]:
        notes.append(
            f"herd ({label}): the quota of {quota}/min never bit: the dispatcher delivered "
            f"{results['msgs_per_s']} msgs/s ({results['msgs_per_s'] * 60:.0f}/min), below it"
        )
    progress(
        f"herd ({label}): {delivered}/{size} delivered, p99 {results['p99_lateness_s']} s, "
        f"{results['responses_429']} answers 429, {ticks} ticks"
    )
    return Outcome(results, notes, cumulative_per_second(list(first.values()), due_ts))


def measure_bare(url: str, size: int) -> tuple[float, list[int]]:
    """Seconds a bare httpx client takes to send `size` pushes to the same fake (no quota):
    the SDK's encoding of the same messages, built beforehand, FCM_MAX_CONCURRENCY in
    flight over pools of the backend's size. The herd cannot be less late than this."""
    from bench.dispatch import measure_bare_client
    from notifications.push.fcm import FCMConfig

    configure_fake(url, quota=None, clock_offset=0.0)
    per_pool = FCMConfig.from_settings().connections_per_shard
    wall, _ = measure_bare_client(url, size, CONCURRENCY, per_pool=per_pool)
    started = time.time() - wall
    progress(f"herd: a bare httpx client sent {size} in {wall:.1f} s")
    accepted = list(fake_records(url)["first_accepted"].values())
    return wall, cumulative_per_second(accepted, started)


# --- Driver ------------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> Report:
    if args.fake_fcm:
        serve_fake(args)
        raise SystemExit(0)
    quick = bool(args.quick)
    size = QUICK_SIZE if quick else SIZE
    tight = QUICK_TIGHT_QUOTA if quick else TIGHT_QUOTA
    bound = QUICK_BOUND_S if quick else BOUND_S
    throttled_bound = QUICK_BOUND_S if quick else THROTTLED_BOUND_S
    throttled_phase = QUICK_THROTTLED_PHASE_S if quick else PHASE_S
    report = Report()
    with postgres_server(report.notes) as pg_url:
        backend = "postgres" if pg_url else "sqlite"
        if pg_url is None:
            report.notes.append("herd: ran on SQLite (no PostgreSQL server)")
        with fresh_database(backend, "herd", pg_url) as db_url, fake_fcm(LATENCY_MS) as url:
            setup_django(db_url)
            from django.db import connections
            from django.test import override_settings

            from notifications.push import reset_push_backends
            from notifications.push.fcm import close_fcm

            report.meta["herd.database"] = db_version()
            fcm_settings = {
                "PUSH_BACKEND": "fcm",
                "FCM_ENDPOINT": url,
                "FIREBASE_PROJECT_ID": "",
                "FIREBASE_CREDENTIALS": "",
                "FCM_MAX_CONCURRENCY": CONCURRENCY,
            }
            try:
                started = time.perf_counter()
                users = populate(size)
                report.results["herd.populate_s"] = rounded(time.perf_counter() - started)
                progress(
                    f"herd: {size} patients and devices in {report.results['herd.populate_s']} s"
                )
                with override_settings(**fcm_settings):
                    reset_push_backends()
                    try:
                        warm_up(url, users)
                        bare_s, bare_by_second = measure_bare(url, size)
                        fit = run_scenario(
                            url, users, quota=size, phase_s=PHASE_S, bound_s=bound, label="fit"
                        )
                        throttled = run_scenario(
                            url,
                            users,
                            quota=tight,
                            phase_s=throttled_phase,
                            bound_s=throttled_bound,
                            label="throttled",
                        )
                    finally:
                        reset_push_backends()
                        close_fcm()
            finally:
                connections.close_all()
    for key, value in fit.results.items():
        report.results[f"herd.{key}"] = value
    report.results["herd.bare_client_s"] = rounded(bare_s)
    report.results["herd.bare_client_msgs_per_s"] = rounded(size / bare_s, 1)
    report.results["herd.p99_lateness_to_bare"] = rounded(
        float(fit.results["p99_lateness_s"]) / bare_s, 3
    )
    for key, value in throttled.results.items():
        report.results[f"herd.throttled.{key}"] = value
    report.notes.extend(fit.notes + throttled.notes)
    report.meta["herd.delivered_by_second"] = fit.delivered_by_second
    report.meta["herd.throttled.delivered_by_second"] = throttled.delivered_by_second
    report.meta["herd.bare_client.delivered_by_second"] = bare_by_second
    report.notes.append(
        f"herd: fake FCM in its own process, {LATENCY_MS} ms per request, "
        f"FCM_MAX_CONCURRENCY={CONCURRENCY}, NOTIFICATION_BATCH_SIZE default, 1 s ticks; "
        f"fit: quota {size}/min; throttled: quota {tight}/min, T {throttled_phase:.0f} s "
        "into the fake's quota minute"
    )
    report.targets["herd.delivered"] = Target("==", "herd.size", "herd.size")
    report.targets["herd.unhandled_429"] = Target("==", 0)
    report.targets["herd.p99_lateness_s"] = Target("<", 60)
    report.targets["herd.p99_lateness_to_bare"] = Target("<=", 1.25, "herd.bare_client_s")
    report.targets["herd.throttled.delivered"] = Target("==", "herd.throttled.size")
    report.targets["herd.throttled.unhandled_429"] = Target("==", 0)
    report.baselines["herd.throttled.p99_lateness_s"] = "herd.p99_lateness_s"
    return report


def _extra(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fake-fcm", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--latency-ms", type=float, default=LATENCY_MS, help=argparse.SUPPRESS)


def run(*, quick: bool) -> dict[str, float | int]:
    return measure(argparse.Namespace(quick=quick, fake_fcm=False)).results


if __name__ == "__main__":
    if "--fake-fcm" in sys.argv:
        parser = argparse.ArgumentParser(prog="python -m bench.herd --fake-fcm")
        _extra(parser)
        serve_fake(parser.parse_args())
    else:
        cli("herd", measure, _extra)
