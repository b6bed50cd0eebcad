"""Dispatching a burst of due notifications over FCM, against a fake FCM with 20 ms latency.

10,000 due notifications for 10,000 devices (500 with --quick) go through
`notifications.dispatch.dispatch_due` with PUSH_BACKEND=fcm: the real firebase-admin SDK,
real HTTP to the fake server (tests/fakes/fcm_server.py) running in its own process so its
CPU is not counted here. Measured in the same run, against the same fake:

* naive: one `messaging.send()` per message, in a loop (on a subset, rate extrapolated);
* bare client: an httpx AsyncClient posting pre-encoded bodies with the same concurrency
  (FCM_MAX_CONCURRENCY), the ceiling any SDK-based sender can reach;
* backend only: `FCMPushBackend.send_many` on the same number of messages without the
  database, to tell the dispatcher's database work from the push work.

Database: a throwaway SQLite file in a temp dir. In a fresh process DATABASE_URL is pointed
at it before `django.setup()` and migrated (any DATABASE_URL of the caller is ignored, so
the development database is never touched); in a process where Django is already set up,
Django's test-database utilities (`create_test_db` / `destroy_test_db`) create and drop it.

CPU seconds come from `time.process_time()`: every thread of this process (the dispatcher
and the SDK's event loop), not the fake server.

    .venv/bin/python -m bench.dispatch [--quick]      # prints the results as JSON
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LATENCY_MS = 20
SIZE, QUICK_SIZE = 10_000, 500
NAIVE_SIZE, QUICK_NAIVE_SIZE = 300, 100
CONCURRENCY = 100
BENCH_SECRET_KEY = "bench-only-secret-key-not-for-any-deployment-" + "0123456789abcdef" * 2

# Read by bench.common: (op, value, baseline key).
TARGETS = {
    "dispatch.speedup_vs_naive": (">=", 15, "dispatch.naive_msgs_per_s"),
    "dispatch.fraction_of_bare_client": (">=", 0.5, "dispatch.bare_client_msgs_per_s"),
}
NOTES = [
    f"dispatch: fake FCM in its own process, {LATENCY_MS} ms per request, HTTP/1.1 on "
    f"loopback, FCM_MAX_CONCURRENCY={CONCURRENCY}, SQLite file database",
]

Number = float | int


@contextlib.contextmanager
def fake_fcm(latency_ms: int) -> Iterator[str]:
    """The fake FCM server as a child process; yields its messages:send URL."""
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.fakes.fcm_server"),
            *("--port", "0", "--latency-ms", str(latency_ms)),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = _read_line(proc.stdout, timeout=30)
        if not url.startswith("http"):
            raise RuntimeError("the fake FCM server did not start")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _read_line(stream: Any, *, timeout: float) -> str:
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return line[0].strip() if line else ""


def _server_stats(url: str) -> dict[str, Any]:
    import httpx

    base = url.split("/v1/", 1)[0]
    return dict(httpx.get(f"{base}/_stats", timeout=10).json())


def _server_reset(url: str) -> None:
    import httpx

    base = url.split("/v1/", 1)[0]
    httpx.post(f"{base}/_reset", timeout=10).raise_for_status()


@contextlib.contextmanager
def bench_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-dispatch-") as tmp:
        path = Path(tmp) / "dispatch.sqlite3"
        from django.conf import settings

        if not settings.configured:
            os.environ.update(
                {
                    "DJANGO_SETTINGS_MODULE": os.environ.get(
                        "DJANGO_SETTINGS_MODULE", "backend.settings"
                    ),
                    "DATABASE_URL": f"sqlite:///{path}",
                    "DEBUG": "0",  # DEBUG keeps every query in memory
                    "SECURE_SSL_REDIRECT": "0",
                    "REDIS_URL": "",
                    "LOG_LEVEL": "WARNING",  # httpx logs every request at INFO
                }
            )
            os.environ.setdefault("SECRET_KEY", BENCH_SECRET_KEY)
            import django
            from django.core.management import call_command

            django.setup()
            call_command("migrate", interactive=False, verbosity=0)
            yield "SQLite file (fresh DATABASE_URL)"
            return
        from django.db import connection

        connection.settings_dict.setdefault("TEST", {})["NAME"] = str(path)
        old_name = connection.creation.create_test_db(
            verbosity=0, autoclobber=True, serialize=False
        )
        try:
            yield f"{connection.vendor} test database"
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)


def populate(size: int) -> None:
    from django.utils import timezone

    from notifications.models import Device, Notification
    from recovery.models import Program, Role, User
    from recovery.notification_kinds import NotificationKind

    now = timezone.now()
    program = Program.objects.create(name="Bench IOP", timezone="America/New_York")
    User.objects.bulk_create(
        # "!" is Django's unusable password: nobody can log in as these users.
        User(username=f"bench-{i:06d}", role=Role.PATIENT, program=program, password="!")  # noqa: S106
        for i in range(size)
    )
    users = list(User.objects.filter(program=program).order_by("id").values_list("id", flat=True))
    Device.objects.bulk_create(
        Device(
            user_id=user_id,
            address=f"bench-token-{i:06d}",
            address_kind="token",
            platform="android",
            last_seen_at=now,
        )
        for i, user_id in enumerate(users)
    )
    Notification.objects.bulk_create(
        Notification(
            recipient_id=user_id,
            kind=NotificationKind.SESSION_REMINDER,
            dedupe_key=f"bench-{i:06d}",
            title="Process group at 6 pm",
            body="Group therapy with your counselor tonight.",
            due_at=now - timedelta(seconds=1),
            expires_at=now + timedelta(hours=1),
            created_at=now,
        )
        for i, user_id in enumerate(users)
    )


def push_messages(size: int, prefix: str) -> list[Any]:
    from notifications.push import PushMessage

    return [
        PushMessage(
            notification_id=i,
            device_id=i,
            address=f"{prefix}-{i:06d}",
            address_kind="token",
            title="Reminder",
            body="You have something coming up. Open the app.",
            ttl_seconds=3600,
            urgent=False,
        )
        for i in range(size)
    ]


def measure_dispatch(size: int) -> tuple[float, float, float]:
    """Wall and CPU seconds of dispatch_due, and the wall seconds spent inside send_many
    (the rest is the dispatcher's database work: claims, reads, one UPDATE per row)."""
    from notifications.dispatch import dispatch_due
    from notifications.push.fcm import FCMPushBackend

    in_push = [0.0]
    send_many = FCMPushBackend.send_many

    def timed(self: FCMPushBackend, messages: Any) -> Any:
        started = time.perf_counter()
        try:
            return send_many(self, messages)
        finally:
            in_push[0] += time.perf_counter() - started

    FCMPushBackend.send_many = timed  # type: ignore[method-assign]
    try:
        cpu, started = time.process_time(), time.perf_counter()
        report = dispatch_due()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        FCMPushBackend.send_many = send_many  # type: ignore[method-assign]
    if report.pushes != size or report.sent != size:
        raise RuntimeError(f"dispatched {report.pushes} pushes, {report.sent} rows of {size}")
    return wall, cpu, in_push[0]


def measure_backend(size: int) -> tuple[float, float]:
    from notifications.push import Outcome, get_push_backend

    messages = push_messages(size, "backend")
    backend = get_push_backend()
    cpu, started = time.process_time(), time.perf_counter()
    results = backend.send_many(messages)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if any(r.outcome != Outcome.SENT for r in results):
        raise RuntimeError("the backend did not send everything")
    return wall, cpu


def measure_naive(size: int) -> float:
    from firebase_admin import messaging

    from notifications.push.fcm import FCMConfig, _runtime_for, build_messages

    runtime = _runtime_for(FCMConfig.from_settings())
    messages = build_messages(push_messages(size, "naive"), now=time.time())
    started = time.perf_counter()
    for message in messages:
        messaging.send(message, dry_run=False, app=runtime.app)
    return time.perf_counter() - started


def measure_bare_client(
    url: str, size: int, concurrency: int, *, per_pool: int
) -> tuple[float, float]:
    """Pre-encoded bodies posted with `concurrency` requests in flight, spread over pools
    of `per_pool` connections (the backend's layout; one pool when per_pool >= concurrency)."""
    import httpx
    from firebase_admin import messaging

    from notifications.push.fcm import build_messages

    encoded = [
        {"message": messaging._MessagingService.encode_message(m)}
        for m in build_messages(push_messages(size, "bare"), now=time.time())
    ]
    pools = math.ceil(concurrency / per_pool)

    # Built before the clock starts, as the backend's Apps are (an SSL context each).
    limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
    clients = [httpx.AsyncClient(limits=limits, timeout=30) for _ in range(pools)]

    async def send_all() -> list[int]:
        slots: asyncio.Queue[int] = asyncio.Queue()
        for slot in range(concurrency):
            slots.put_nowait(slot // per_pool)

        async def one(body: dict[str, Any]) -> int:
            pool = await slots.get()
            try:
                return (await clients[pool].post(url, json=body)).status_code
            finally:
                slots.put_nowait(pool)

        try:
            return list(await asyncio.gather(*(one(b) for b in encoded)))
        finally:
            for client in clients:
                await client.aclose()

    cpu, started = time.process_time(), time.perf_counter()
    statuses = asyncio.run(send_all())
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if set(statuses) != {200}:
        raise RuntimeError(f"the bare client got {sorted(set(statuses))}")
    return wall, cpu


def run(*, quick: bool) -> dict[str, Number]:
    size = QUICK_SIZE if quick else SIZE
    naive_size = QUICK_NAIVE_SIZE if quick else NAIVE_SIZE
    with fake_fcm(LATENCY_MS) as url, bench_database():
        from django.test import override_settings

        from notifications.push import get_push_backend, reset_push_backends
        from notifications.push.fcm import FCMConfig, _runtime_for, close_fcm

        populate(size)
        fcm_settings = {
            "PUSH_BACKEND": "fcm",
            "FCM_ENDPOINT": url,
            "FIREBASE_PROJECT_ID": "",
            "FIREBASE_CREDENTIALS": "",
            "FCM_MAX_CONCURRENCY": CONCURRENCY,
        }
        with override_settings(**fcm_settings):
            reset_push_backends()
            try:
                # Built once per process in production: its start-up (a few SSL contexts
                # per App; the shards past the first are built by the first burst) is
                # reported apart from the per-message cost.
                started = time.perf_counter()
                get_push_backend()
                runtime = _runtime_for(FCMConfig.from_settings())
                for shard in range(len(runtime.apps)):
                    runtime.app_for(shard)
                startup_s = time.perf_counter() - started
                _server_reset(url)
                dispatch_wall, dispatch_cpu, push_wall = measure_dispatch(size)
                accepted = _server_stats(url)["accepted"]
                if accepted != size:
                    raise RuntimeError(f"the fake FCM accepted {accepted} of {size}")
                backend_wall, backend_cpu = measure_backend(size)
                naive_wall = measure_naive(naive_size)
                per_shard = FCMConfig.from_settings().connections_per_shard
                bare_wall, bare_cpu = measure_bare_client(
                    url, size, CONCURRENCY, per_pool=per_shard
                )
                single_wall, _ = measure_bare_client(url, size, CONCURRENCY, per_pool=CONCURRENCY)
            finally:
                reset_push_backends()
                close_fcm()

    msgs_per_s = size / dispatch_wall
    naive_per_s = naive_size / naive_wall
    bare_per_s = size / bare_wall
    return {
        "dispatch.messages": size,
        "dispatch.msgs_per_s": round(msgs_per_s, 1),
        "dispatch.cpu_s_per_1000": round(dispatch_cpu / size * 1000, 3),
        "dispatch.push_share_of_wall": round(push_wall / dispatch_wall, 3),
        "dispatch.backend_startup_s": round(startup_s, 3),
        "dispatch.backend_msgs_per_s": round(size / backend_wall, 1),
        "dispatch.backend_cpu_s_per_1000": round(backend_cpu / size * 1000, 3),
        "dispatch.naive_msgs_per_s": round(naive_per_s, 1),
        "dispatch.bare_client_msgs_per_s": round(bare_per_s, 1),
        "dispatch.bare_client_cpu_s_per_1000": round(bare_cpu / size * 1000, 3),
        "dispatch.bare_single_pool_msgs_per_s": round(size / single_wall, 1),
        "dispatch.speedup_vs_naive": round(msgs_per_s / naive_per_s, 2),
        "dispatch.fraction_of_bare_client": round(msgs_per_s / bare_per_s, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dispatch")
    parser.add_argument("--quick", action="store_true", help="500 notifications, same code")
    args = parser.parse_args()
    print(json.dumps(run(quick=args.quick), indent=2))


if __name__ == "__main__":
    main()
