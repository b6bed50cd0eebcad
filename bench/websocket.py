"""Reminders due for every connected patient at once, over websockets and channels_redis.

N patients (full: 1,000 then 2,000; quick: 100 then 200) hold a websocket each to the real
ASGI server (`uvicorn backend.asgi:application`, one process on 127.0.0.1, a free port;
a fresh one per size) through the channels_redis layer. The clients are the `websockets`
library (asyncio, all in this process, library defaults: permessage-deflate offered),
authenticated with the subprotocol pair ["bearer", <JWT access token>], and acknowledge
every notification with {"type": "ack", "ids": [id]} as the protocol says. The dispatcher
is the real scheduler process (`manage.py run_scheduler --inprocess`,
DISPATCH_INTERVAL_SECONDS=1, PUSH_BACKEND=memory; the patients have no devices, so nothing
is pushed). Once every client is connected and has its "ready", one Notification per
patient is written, all due at the same whole second T, a few seconds ahead.

Keys (N: the size; the headline keys without a size are the largest size's, except
`websocket.dropped`, the sum over the sizes):

* `websocket.p50_ms_<N>`, `websocket.p99_ms_<N>`, `websocket.max_ms_<N>`: arrival at the
  client - T, over the notifications received: the scheduler's tick (up to 1 s), the
  claim, channels_redis, the server and the client's own event loop included;
* meta `websocket.latency_distribution_ms_<N>`: the same latencies as [percentile, ms] at
  ten points (bench/plots.py draws them);
* `websocket.p99_sent_at_ms_<N>`: the dispatcher's own stamp, `sent_at` - T (stamped once
  a batch's websocket sends and pushes returned), to tell the tick from the delivery;
* `websocket.dropped_<N>`: notifications not received within a bounded wait after T (full
  30 s, quick 15 s);
* `websocket.acked_<N>`: rows whose acked_at the server stamped from the clients' acks;
* `websocket.kib_per_connection_<N>`: (VmRSS of the server process with N clients
  connected and authenticated - VmRSS before them, after a warm-up of a few connections
  opened and closed) / N;
* `websocket.connect_s_<N>`: seconds to open and authenticate the N sockets, 50 handshakes
  in flight;
* `websocket.client_p50_ms_<N>`, `websocket.client_p99_ms_<N>`: the clients' own ceiling,
  measured in the same run right after: the same N clients connected to a bare websockets
  server (`bench.ws_plain`: no Django, no layer, no database) that sends one event of the
  same size to all of them at once; ms from that trigger to each receipt. The latency
  targets' baseline: what of the p99 the bench's client side costs on this machine now;
* `websocket.two_servers.*_<N>` (full: N = 5,000; quick: 500): the same keys with the
  sockets spread over two uvicorn processes (production's topology behind a load
  balancer), one Redis; `kib_per_connection` is both processes' growth over N.

Targets (the issue's): p99 < 1,000 ms at the first size and < 1,500 ms at the second,
nothing dropped, < 100 KiB per connection.

The server and the scheduler run with CONN_MAX_AGE=60, as .env.example sets for
production (with the settings' default of 0, every websocket handshake opens two new
database connections: the token lookup and the replay).

Redis: REDIS_URL if set (non-empty), else a throwaway `redis-server --save ''` on
127.0.0.1 and a free port. Database: PostgreSQL if available (BENCH_DATABASE_URL,
DATABASE_URL, or a throwaway server), else a SQLite file.

    .venv/bin/python -m bench.websocket [--quick] [--json-out PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from bench.common import (
    PYTHON,
    ROOT,
    UNUSABLE,
    Report,
    Target,
    bench_env,
    cli,
    db_version,
    distribution,
    free_port,
    fresh_database,
    percentile,
    postgres_server,
    progress,
    rounded,
    setup_django,
)

SIZES, QUICK_SIZES = (1_000, 2_000), (100, 200)
# Production's topology: two server processes behind one address, the sockets spread
# over both, one Redis between them and the dispatcher.
PAIR_SIZE, QUICK_PAIR_SIZE = 5_000, 500
# The targets: p99 from the due time to the client, by size (quick: the same
# bounds at the quick sizes).
P99_TARGETS_MS = (1_000, 1_500)
WARMUP = 5  # connections opened and closed before the "before" RSS
CONNECT_CONCURRENCY = 50
LEAD_S = 1.0  # T is at least this far ahead when the rows are written
WAIT_S, QUICK_WAIT_S = 30.0, 15.0  # after T, for the notifications to arrive
ACK_WAIT_S = 10.0
SETTLE_S = 0.5  # before reading RSS
START_TIMEOUT_S = 60.0
OPEN_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
# uvicorn's graceful shutdown can wait forever for a consumer whose channels_redis receive
# survived its cancellation (see the note it leaves); the measurement is over by then.
SERVER_GRACE_S = 3.0
CONN_MAX_AGE = "60"  # seconds, as .env.example sets for production

Number = float | int


# --- Child processes ---------------------------------------------------------------------


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]
    terminated_at: float | None = None

    def tail(self, chars: int = 800) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def terminate(self) -> None:
        """SIGTERM, once; `stop` then waits for it."""
        if self.terminated_at is None and self.proc.poll() is None:
            self.terminated_at = time.monotonic()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self, grace_s: float = STOP_TIMEOUT_S) -> bool:
        """SIGTERM, then SIGKILL `grace_s` after it; True if it exited on SIGTERM in time."""
        clean = True
        if self.proc.poll() is None:
            self.terminate()
            assert self.terminated_at is not None
            try:
                self.proc.wait(timeout=max(0.1, self.terminated_at + grace_s - time.monotonic()))
            except subprocess.TimeoutExpired:
                clean = False
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if not self.log.closed:
            self.log.close()
        return clean

    def errors(self) -> list[str]:
        """The last line of each traceback in the log."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        found: list[str] = []
        for n, line in enumerate(lines):
            if line.startswith("Traceback"):
                tail = next(
                    (x for x in lines[n + 1 :] if x and not x[0].isspace()),
                    "?",
                )
                found.append(tail[:200])
        return found


def spawn(name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> Child:
    log_path = log_dir / f"{name}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Child(name, proc, log_path, log)


def wait_for(child: Child, ready: Any, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise RuntimeError(f"{child.name} exited ({child.proc.returncode}): {child.tail()}")
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(0.1)
    raise RuntimeError(f"{child.name}: no {what} within {START_TIMEOUT_S:.0f} s: {child.tail()}")


@contextlib.contextmanager
def redis_server(log_dir: Path, notes: list[str]) -> Iterator[str]:
    """REDIS_URL if set, else a throwaway redis-server on 127.0.0.1 (no persistence)."""
    url = os.environ.get("REDIS_URL", "")
    if url:
        notes.append("websocket: Redis from REDIS_URL")
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("no REDIS_URL and no redis-server on PATH")
    port = free_port()
    argv = [
        binary,
        *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
        *("--dir", str(log_dir), "--maxclients", "10000"),
    ]
    child = spawn("redis", argv, dict(os.environ), log_dir)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        def ping() -> bool:
            return bool(redis.Redis.from_url(url, socket_timeout=1).ping())

        wait_for(child, ping, "PING")
        yield url
    finally:
        child.stop()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


# --- Data --------------------------------------------------------------------------------


def populate(count: int) -> list[tuple[int, str]]:
    """`count` patients (no devices); their ids and access tokens."""
    from django.db import transaction
    from rest_framework_simplejwt.tokens import AccessToken

    from recovery.models import Program, Role, User

    with transaction.atomic():
        program = Program.objects.create(name="Bench IOP", timezone="America/New_York")
        User.objects.bulk_create(
            (
                User(username=f"ws-{i:06d}", role=Role.PATIENT, program=program, password=UNUSABLE)
                for i in range(count)
            ),
            batch_size=2_000,
        )
    users = list(User.objects.filter(program=program).order_by("id"))
    return [(u.id, str(AccessToken.for_user(u))) for u in users]


def queue_reminders(user_ids: list[int], due: datetime, label: str) -> list[int]:
    """One reminder per patient, all due at `due`; returns the notification ids. Runs in a
    worker thread (the caller's thread runs the event loop)."""
    from django.db import connection, transaction

    from notifications.models import Notification
    from recovery.notification_kinds import NotificationKind

    try:
        with transaction.atomic():
            Notification.objects.bulk_create(
                (
                    Notification(
                        recipient_id=user_id,
                        kind=NotificationKind.SESSION_REMINDER,
                        dedupe_key=f"ws-{label}-{user_id}",
                        title="Process group at 6 pm",
                        body="Group therapy with your counselor tonight.",
                        due_at=due,
                        expires_at=due + timedelta(hours=2),
                        created_at=due - timedelta(hours=12),
                    )
                    for user_id in user_ids
                ),
                batch_size=2_000,
            )
        return list(
            Notification.objects.filter(dedupe_key__startswith=f"ws-{label}-").values_list(
                "id", flat=True
            )
        )
    finally:
        connection.close()


def sent_at_lateness_ms(ids: list[int], due_ts: float) -> list[float]:
    from django.db import connection

    from notifications.models import Notification

    try:
        stamps = Notification.objects.filter(id__in=ids, sent_at__isnull=False).values_list(
            "sent_at", flat=True
        )
        return [(s.timestamp() - due_ts) * 1000 for s in stamps if s is not None]
    finally:
        connection.close()


def acked_count(ids: list[int]) -> int:
    from django.db import connection

    from notifications.models import Notification

    try:
        return Notification.objects.filter(id__in=ids, acked_at__isnull=False).count()
    finally:
        connection.close()


# --- Clients -----------------------------------------------------------------------------


@dataclass
class Client:
    user_id: int
    ws: Any
    received: dict[int, float] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None


async def open_client(url: str, user_id: int, token: str) -> Client:
    from websockets.asyncio.client import connect
    from websockets.typing import Subprotocol

    ws = await connect(
        url,
        subprotocols=[Subprotocol("bearer"), Subprotocol(token)],
        proxy=None,  # loopback only, whatever the environment says
        open_timeout=OPEN_TIMEOUT_S,
        close_timeout=2,
        ping_interval=None,  # the server pings; nothing here lasts long enough to need it
        max_queue=64,
    )
    if ws.subprotocol != "bearer":
        await ws.close()
        raise RuntimeError(f"the server answered subprotocol {ws.subprotocol!r}")
    first = json.loads(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT_S))
    if first.get("type") != "ready":
        await ws.close()
        raise RuntimeError(f"expected ready, got {first.get('type')!r}")
    return Client(user_id, ws)


async def listen(client: Client) -> None:
    """Record each notification's arrival time, then acknowledge it."""
    from websockets.exceptions import ConnectionClosed

    with contextlib.suppress(ConnectionClosed):
        async for raw in client.ws:
            arrived = time.time()
            event = json.loads(raw)
            if event.get("type") != "notification":
                continue
            client.received.setdefault(int(event["id"]), arrived)
            await client.ws.send(json.dumps({"type": "ack", "ids": [event["id"]]}))


async def open_all(urls: list[str], users: list[tuple[int, str]]) -> list[Client]:
    """One socket per user, spread over `urls` in turn (a load balancer's round robin)."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(url: str, user_id: int, token: str) -> Client:
        async with gate:
            return await open_client(url, user_id, token)

    results = await asyncio.gather(
        *(one(urls[n % len(urls)], u, t) for n, (u, t) in enumerate(users)),
        return_exceptions=True,
    )
    clients = [r for r in results if isinstance(r, Client)]
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        await close_all(clients)
        raise RuntimeError(
            f"{len(failures)} of {len(users)} sockets failed to open: {failures[0]!r}"
        )
    return clients


async def close_all(clients: list[Client]) -> None:
    for client in clients:
        if client.task is not None:
            client.task.cancel()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(
            asyncio.gather(*(c.ws.close() for c in clients), return_exceptions=True), 30
        )


# --- One size ----------------------------------------------------------------------------


@dataclass
class SizeResult:
    size: int
    latencies_ms: list[float]
    dropped: int
    acked: int
    kib_per_connection: float
    connect_s: float
    rss_before_kib: int
    rss_after_kib: int
    sent_at_ms: list[float]
    late_write_s: float
    servers: int = 1
    client_ms: list[float] = field(default_factory=list)


async def measure_size(
    ws_urls: list[str],
    server_pids: list[int],
    users: list[tuple[int, str]],
    warmup: list[tuple[int, str]],
    *,
    wait_s: float,
    label: str,
) -> SizeResult:
    size = len(users)
    await close_all(await open_all(ws_urls, warmup * len(ws_urls)))
    await asyncio.sleep(SETTLE_S)
    before = sum(rss_kib(pid) for pid in server_pids)
    started = time.perf_counter()
    clients = await open_all(ws_urls, users)
    connect_s = time.perf_counter() - started
    try:
        for client in clients:
            client.task = asyncio.create_task(listen(client))
        await asyncio.sleep(SETTLE_S)
        after = sum(rss_kib(pid) for pid in server_pids)
        due_ts = math.ceil(time.time() + LEAD_S)
        due = datetime.fromtimestamp(due_ts, tz=UTC)
        ids = await asyncio.to_thread(queue_reminders, [u for u, _ in users], due, label)
        late_write_s = max(0.0, time.time() - due_ts)
        if len(ids) != size:
            raise RuntimeError(f"queued {len(ids)} reminders for {size} patients")
        wanted = set(ids)

        def arrived() -> int:
            return sum(len(wanted & c.received.keys()) for c in clients)

        deadline = due_ts + wait_s
        while arrived() < size and time.time() < deadline:
            await asyncio.sleep(0.05)
        latencies = [
            (t - due_ts) * 1000 for c in clients for n, t in c.received.items() if n in wanted
        ]
        received = len(latencies)
        ack_deadline = time.monotonic() + ACK_WAIT_S
        acked = await asyncio.to_thread(acked_count, ids)
        while acked < received and time.monotonic() < ack_deadline:
            await asyncio.sleep(0.2)
            acked = await asyncio.to_thread(acked_count, ids)
        sent_ms = await asyncio.to_thread(sent_at_lateness_ms, ids, due_ts)
    finally:
        await close_all(clients)
    return SizeResult(
        size=size,
        latencies_ms=latencies,
        dropped=size - received,
        acked=acked,
        kib_per_connection=(after - before) / size,
        connect_s=connect_s,
        rss_before_kib=before,
        rss_after_kib=after,
        sent_at_ms=sent_ms,
        late_write_s=late_write_s,
        servers=len(server_pids),
    )


async def client_ceiling(
    base_url: str, users: list[tuple[int, str]], *, wait_s: float
) -> list[float]:
    """The same clients against bench.ws_plain (nothing behind the sockets): ms from the
    trigger to each client's receipt of one event sent to all at once. What the client
    side alone costs in this run, on this machine, at this size."""
    from websockets.asyncio.client import connect

    clients = await open_all([base_url + "ws/events/"], users)
    try:
        for client in clients:
            client.task = asyncio.create_task(listen(client))
        await asyncio.sleep(SETTLE_S)
        started = time.time()
        async with connect(base_url + "go", proxy=None, open_timeout=OPEN_TIMEOUT_S) as go:
            await go.wait_closed()
        deadline = started + wait_s
        while sum(1 in c.received for c in clients) < len(clients) and time.time() < deadline:
            await asyncio.sleep(0.05)
        return [(c.received[1] - started) * 1000 for c in clients if 1 in c.received]
    finally:
        await close_all(clients)


# --- Driver ------------------------------------------------------------------------------


def start_server(env: dict[str, str], log_dir: Path, label: str) -> tuple[Child, int]:
    port = free_port()
    server = spawn(
        f"server-{label}",
        [
            *(PYTHON, "-m", "uvicorn", "backend.asgi:application"),
            *("--host", "127.0.0.1", "--port", str(port)),
            *("--log-level", "warning", "--no-access-log", "--lifespan", "off"),
        ],
        env,
        log_dir,
    )
    return server, port


def server_ready(port: int) -> bool:
    import httpx

    return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200


def measure(args: argparse.Namespace) -> Report:
    quick = bool(args.quick)
    sizes = QUICK_SIZES if quick else SIZES
    pair_size = QUICK_PAIR_SIZE if quick else PAIR_SIZE
    wait_s = QUICK_WAIT_S if quick else WAIT_S
    raise_fd_limit(4 * max(*sizes, pair_size) + 1024)
    report = Report()
    outcomes: list[SizeResult] = []
    redis_from_env = os.environ.get("REDIS_URL", "")
    with (
        postgres_server(report.notes) as pg_url,
        tempfile.TemporaryDirectory(prefix="bench-websocket-") as tmp,
    ):
        log_dir = Path(tmp)
        backend = "postgres" if pg_url else "sqlite"
        if pg_url is None:
            report.notes.append("websocket: ran on SQLite (no PostgreSQL server)")
        with fresh_database(backend, "websocket", pg_url) as db_url:
            setup_django(db_url)
            from django.db import connections

            report.meta["websocket.database"] = db_version()
            os.environ["REDIS_URL"] = redis_from_env  # setup_django blanked it
            children: list[Child] = []
            try:
                with redis_server(log_dir, report.notes) as redis_url:
                    env = bench_env(db_url)
                    env.update(
                        {
                            "REDIS_URL": redis_url,
                            "DISPATCH_INTERVAL_SECONDS": "1",
                            "PUSH_BACKEND": "memory",
                            "CONN_MAX_AGE": CONN_MAX_AGE,
                        }
                    )
                    # Every process starts at once (nothing is measured yet): the scheduler,
                    # one server per size, two for the pair, and the bare server for the
                    # clients' ceiling, each idle until its turn.
                    scheduler = spawn(
                        "scheduler",
                        [PYTHON, "manage.py", "run_scheduler", "--inprocess"],
                        env,
                        log_dir,
                    )
                    children.append(scheduler)
                    runs = [(size, [start_server(env, log_dir, str(size))]) for size in sizes]
                    runs.append(
                        (
                            pair_size,
                            [start_server(env, log_dir, f"{pair_size}-{n}") for n in (1, 2)],
                        )
                    )
                    children.extend(server for _, servers in runs for server, _ in servers)
                    plain_port = free_port()
                    plain = spawn(
                        "plain", [PYTHON, "-m", "bench.ws_plain", str(plain_port)], env, log_dir
                    )
                    children.append(plain)
                    users = populate(sum(size for size, _ in runs) + 2 * WARMUP * len(runs))
                    connections.close_all()
                    wait_for(
                        scheduler,
                        lambda: "scheduler started" in scheduler.log_path.read_text(),
                        "start",
                    )
                    for _, servers in runs:
                        for server, port in servers:
                            wait_for(server, lambda port=port: server_ready(port), "/healthz")
                    wait_for(plain, lambda: "ready" in plain.log_path.read_text(), "start")
                    progress(f"websocket: {len(users)} patients, servers and scheduler up")
                    offset = 0
                    for size, servers in runs:
                        warmup = users[offset : offset + WARMUP]
                        batch = users[offset + WARMUP : offset + WARMUP + size]
                        offset += 2 * WARMUP + size
                        try:
                            outcome = asyncio.run(
                                measure_size(
                                    [f"ws://127.0.0.1:{port}/ws/events/" for _, port in servers],
                                    [server.proc.pid for server, _ in servers],
                                    batch,
                                    warmup,
                                    wait_s=wait_s,
                                    label=str(size),
                                )
                            )
                        finally:
                            # Their shutdown overlaps the next size; waited for below.
                            for server, _ in servers:
                                server.terminate()
                        outcome.client_ms = asyncio.run(
                            client_ceiling(f"ws://127.0.0.1:{plain_port}/", batch, wait_s=wait_s)
                        )
                        outcomes.append(outcome)
                        lat, own = outcome.latencies_ms, outcome.client_ms
                        progress(
                            f"websocket {size} on {len(servers)} server(s): connected in "
                            f"{outcome.connect_s:.1f} s, {outcome.kib_per_connection:.1f} KiB "
                            f"each, p99 {percentile(lat, 99) if lat else float('nan'):.0f} ms, "
                            f"{outcome.dropped} dropped; clients alone: p99 "
                            f"{percentile(own, 99) if own else float('nan'):.0f} ms"
                        )
                    for size, servers in runs:
                        for server, _ in servers:
                            check_server(report, server, size)
                    if scheduler.proc.poll() is not None:
                        report.notes.append(f"websocket: the scheduler died: {scheduler.tail()}")
                    errors = scheduler.errors()
                    if errors:
                        report.notes.append(
                            f"websocket: {len(errors)} tracebacks in the scheduler log, "
                            f"e.g. {sorted(set(errors))[:3]}"
                        )
            finally:
                for child in reversed(children):
                    child.stop()
                connections.close_all()
    summarize(report, outcomes)
    return report


def check_server(report: Report, server: Child, size: int) -> None:
    """Stop a server that was sent SIGTERM; note a shutdown that hung, and tracebacks."""
    if not server.stop(SERVER_GRACE_S):
        report.notes.append(
            f"websocket {size}: the server did not exit within {SERVER_GRACE_S:.0f} s of "
            "SIGTERM (uvicorn waiting for background tasks: a consumer whose channel-layer "
            "receive outlived its cancellation); killed"
        )
    errors = server.errors()
    if errors:
        report.notes.append(
            f"websocket {size}: {len(errors)} tracebacks in the server log, "
            f"e.g. {sorted(set(errors))[:3]}"
        )


def summarize(report: Report, outcomes: list[SizeResult]) -> None:
    r = report.results
    for o in outcomes:
        n = o.size
        # One server: websocket.<name>_<N>; the pair: websocket.two_servers.<name>_<N>.
        prefix = "websocket." if o.servers == 1 else "websocket.two_servers."
        if o.latencies_ms:
            r[f"{prefix}p50_ms_{n}"] = rounded(percentile(o.latencies_ms, 50), 1)
            r[f"{prefix}p99_ms_{n}"] = rounded(percentile(o.latencies_ms, 99), 1)
            r[f"{prefix}max_ms_{n}"] = rounded(max(o.latencies_ms), 1)
            report.meta[f"{prefix}latency_distribution_ms_{n}"] = distribution(o.latencies_ms)
        if o.sent_at_ms:
            r[f"{prefix}p99_sent_at_ms_{n}"] = rounded(percentile(o.sent_at_ms, 99), 1)
        if o.client_ms:
            r[f"{prefix}client_p50_ms_{n}"] = rounded(percentile(o.client_ms, 50), 1)
            r[f"{prefix}client_p99_ms_{n}"] = rounded(percentile(o.client_ms, 99), 1)
        r[f"{prefix}dropped_{n}"] = o.dropped
        r[f"{prefix}acked_{n}"] = o.acked
        r[f"{prefix}kib_per_connection_{n}"] = rounded(o.kib_per_connection, 1)
        r[f"{prefix}connect_s_{n}"] = rounded(o.connect_s)
        report.meta[f"{prefix}rss_kib_{n}"] = {
            "before": o.rss_before_kib,
            "after": o.rss_after_kib,
        }
        if o.dropped:
            report.notes.append(
                f"websocket: {o.dropped} of {n} notifications did not arrive "
                f"({o.servers} server(s))"
            )
        if o.late_write_s:
            report.notes.append(
                f"websocket {n}: the reminders were written {o.late_write_s:.1f} s after their "
                "due time; the latencies include that"
            )
    single = [o for o in outcomes if o.servers == 1]
    if single:
        largest = single[-1].size
        for name in ("p50_ms", "p99_ms", "kib_per_connection"):
            if f"websocket.{name}_{largest}" in r:
                r[f"websocket.{name}"] = r[f"websocket.{name}_{largest}"]
        r["websocket.dropped"] = sum(o.dropped for o in single)
        report.baselines["websocket.p99_ms"] = f"websocket.client_p99_ms_{largest}"
        for o, bound in zip(single, P99_TARGETS_MS, strict=False):
            report.targets[f"websocket.p99_ms_{o.size}"] = Target("<", bound)
            report.baselines[f"websocket.p99_ms_{o.size}"] = f"websocket.client_p99_ms_{o.size}"
    report.targets["websocket.dropped"] = Target("==", 0)
    report.targets["websocket.kib_per_connection"] = Target("<", 100)
    report.notes.append(
        "websocket: one uvicorn process per size, and two for the largest "
        "(websocket.two_servers.*, sockets spread over both), channels_redis, scheduler ticks "
        "every 1 s, clients in one asyncio process (websockets library defaults, "
        "permessage-deflate); client_p*_ms: the same clients taking one event sent to all "
        "at once by a bare websockets server (bench.ws_plain), the client side's own share"
    )


def run(*, quick: bool) -> dict[str, float | int]:
    return measure(argparse.Namespace(quick=quick)).results


if __name__ == "__main__":
    cli("websocket", measure)
