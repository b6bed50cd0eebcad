"""Shared plumbing of the benchmarks: databases, Django setup, timing and reports.

Every benchmark runs in its own process (`python -m bench.<name>`) so that it gets fresh
Django settings and a fresh database. Nothing here imports Django at module level: the
settings are read from the environment, which `setup_django` prepares first.

`python -m bench.common --module bench.<name> [--quick] --json-out FILE` runs any module
that only exposes `run(*, quick: bool) -> dict[str, float | int]` (bench/dispatch.py) in
the same report format as the modules that have their own command line.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import importlib
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_BIN = Path(os.environ.get("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))

# Set by the runner when it could not get a PostgreSQL server: children skip PostgreSQL.
NO_POSTGRES_ENV = "BENCH_NO_POSTGRES"

Number = float | int
# The password of every bench user: "!" is what Django stores for an unusable password.
UNUSABLE = "!"


# --- Reports -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """`key op value`, e.g. ratio >= 0.8; `baseline` names the key it was measured against."""

    op: str  # one of "<=", ">=", "<", ">", "=="
    value: Number | str  # a number, or the name of another key (e.g. "same query count")
    baseline: str | None = None

    def met(self, results: dict[str, Number], key: str) -> bool | None:
        if key not in results:
            return None
        limit = results.get(self.value) if isinstance(self.value, str) else self.value
        if limit is None:
            return None
        actual = results[key]
        return {
            "<=": actual <= limit,
            ">=": actual >= limit,
            "<": actual < limit,
            ">": actual > limit,
            "==": actual == limit,
        }[self.op]

    def describe(self) -> str:
        return f"{self.op} {self.value}"

    def as_json(self) -> dict[str, Any]:
        return {"op": self.op, "value": self.value, "baseline": self.baseline}


@dataclass
class Report:
    results: dict[str, Number] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    targets: dict[str, Target] = field(default_factory=dict)
    # Which key each measured key was compared with (no target of its own).
    baselines: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def merge(self, other: Report) -> None:
        self.results.update(other.results)
        self.notes.extend(other.notes)
        self.targets.update(other.targets)
        self.baselines.update(other.baselines)
        failed = self.meta.get("failed", []) + other.meta.get("failed", [])
        self.meta.update(other.meta)
        if failed:
            self.meta["failed"] = failed

    def as_json(self) -> dict[str, Any]:
        return {
            "results": dict(sorted(self.results.items())),
            "notes": self.notes,
            "targets": {k: t.as_json() for k, t in sorted(self.targets.items())},
            "baselines": dict(sorted(self.baselines.items())),
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        targets = {
            k: Target(op=t["op"], value=t["value"], baseline=t.get("baseline"))
            for k, t in (data.get("targets") or {}).items()
        }
        return cls(
            results=dict(data.get("results") or {}),
            notes=list(data.get("notes") or []),
            targets=targets,
            baselines=dict(data.get("baselines") or {}),
            meta=dict(data.get("meta") or {}),
        )


def write_json(path: Path, data: Any) -> None:
    """Write atomically: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)


def cli(name: str, measure: Callable[[argparse.Namespace], Report], extra: Any = None) -> None:
    """The command line every benchmark module shares: `--quick`, `--json-out FILE`."""
    parser = argparse.ArgumentParser(prog=f"python -m bench.{name}")
    parser.add_argument("--quick", action="store_true", help="small sizes, same code")
    parser.add_argument("--json-out", type=Path, help="also write the report here")
    if extra is not None:
        extra(parser)
    args = parser.parse_args()
    started = time.monotonic()
    report = measure(args)
    report.meta.setdefault("seconds", {})[name] = round(time.monotonic() - started, 1)
    data = report.as_json()
    if args.json_out:
        write_json(args.json_out, data)
    print(json.dumps(data, indent=2))


# --- Statistics ----------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation): p99 of 100 values is the 99th."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def rounded(value: float, digits: int = 2) -> float:
    return round(value, digits)


# The points of a latency distribution kept for bench/plots.py (report.meta, not results).
DISTRIBUTION_PCTS = (1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 100.0)


def distribution(values: list[float], digits: int = 1) -> list[list[float]]:
    """[[percentile, value], ...] at DISTRIBUTION_PCTS: a distribution's shape in ten points."""
    return [[pct, rounded(percentile(values, pct), digits)] for pct in DISTRIBUTION_PCTS]


def cumulative_per_second(times: list[float], start: float) -> list[int]:
    """How many of `times` had happened by the end of each whole second after `start`."""
    if not times:
        return []
    seconds = [max(0, math.ceil(t - start)) for t in times]
    counts = [0] * (max(seconds) + 1)
    for second in seconds:
        counts[second] += 1
    total = 0
    for n, count in enumerate(counts):
        total += count
        counts[n] = total
    return counts


def summarize_sql(sql: str, width: int = 150) -> str:
    """One line per query for a report: column lists and values elided."""
    text = " ".join(sql.split())
    text = re.sub(r"^SELECT .+? FROM ", "SELECT … FROM ", text)
    text = re.sub(
        r"^(INSERT INTO \S+) \(.*?\) VALUES .*?( RETURNING .*| ON CONFLICT .*)?$",
        r"\1 (…) VALUES (…)\2",
        text,
    )
    text = re.sub(r"^(UPDATE \S+ SET \S+) = .*? WHERE ", r"\1 = … WHERE ", text)
    return text if len(text) <= width else text[: width - 1] + "…"


# --- Environment and Django ----------------------------------------------------------------

BENCH_SECRET_KEY = "bench-only-secret-key-not-for-any-deployment-" + "0123456789abcdef" * 2


def bench_env(
    database_url: str | None = None, base: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a benchmark process: the embedded default, DEBUG off as in
    production, no Redis, push to memory, plain HTTP on 127.0.0.1."""
    env = dict(os.environ if base is None else base)
    env.setdefault("SECRET_KEY", BENCH_SECRET_KEY)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "DEBUG": "0",
            "SECURE_SSL_REDIRECT": "0",
            "REDIS_URL": "",
            "PUSH_BACKEND": "memory",
            "LOG_LEVEL": "WARNING",
            "ACCESS_TOKEN_MINUTES": "240",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


def setup_django(database_url: str, *, migrate: bool = True) -> None:
    """Configure Django on `database_url` in this process (once) and migrate it."""
    os.environ.update(bench_env(database_url))
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


@contextlib.contextmanager
def stub_dispatch_enqueue() -> Iterator[list[int]]:
    """Without Redis, Celery runs tasks eagerly, so `dispatch_notifications_now.delay()` (run
    on commit whenever something due was queued) would deliver every notification inside
    the timed code. In production it only puts a message on the broker. Count the calls
    instead; the dispatcher has its own benchmark (bench/dispatch.py)."""
    from notifications import tasks

    calls = [0]
    original = tasks.dispatch_notifications_now.delay

    def count(*args: Any, **kwargs: Any) -> None:
        calls[0] += 1

    tasks.dispatch_notifications_now.delay = count  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        tasks.dispatch_notifications_now.delay = original  # type: ignore[method-assign]


def reset_sequences(models: list[Any]) -> None:
    """After inserting explicit ids with raw SQL, point PostgreSQL's sequences past them."""
    from django.core.management.color import no_style
    from django.db import connection

    statements = connection.ops.sequence_reset_sql(no_style(), models)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def db_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}"
        cursor.execute("SELECT sqlite_version()")
        return f"SQLite {cursor.fetchone()[0]}"


# --- Databases -----------------------------------------------------------------------------


def postgres_url_from_env() -> str | None:
    """BENCH_DATABASE_URL, else DATABASE_URL if it is PostgreSQL."""
    if os.environ.get(NO_POSTGRES_ENV):
        return None
    for name in ("BENCH_DATABASE_URL", "DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.split(":", 1)[0] in ("postgres", "postgresql", "pgsql", "postgis"):
            return url
    return None


def _with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def _admin_connect(url: str) -> Any:
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or None,
        password=parts.password or None,
        dbname=(parts.path or "/postgres").lstrip("/") or "postgres",
        autocommit=True,
        connect_timeout=5,
    )


@contextlib.contextmanager
def fresh_database(
    backend: str, label: str, postgres_url: str | None = None, *, template: str | None = None
) -> Iterator[str]:
    """A throwaway database: an SQLite file in a temp dir, or a new PostgreSQL database on
    the server `postgres_url` points at (needs CREATEDB). Dropped afterwards.

    `template`: the URL of a database to copy (already migrated, say); nobody may be
    connected to it meanwhile (close Django's connections first)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"bench-{label}-") as tmp:
            path = Path(tmp) / "bench.sqlite3"
            if template:
                source = Path(template.removeprefix("sqlite:///"))
                for suffix in ("", "-wal", "-shm"):
                    if Path(f"{source}{suffix}").exists():
                        shutil.copyfile(f"{source}{suffix}", f"{path}{suffix}")
            yield f"sqlite:///{path}"
        return
    if postgres_url is None:
        raise RuntimeError("no PostgreSQL server")
    name = f"bench_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    copy = f' TEMPLATE "{urlsplit(template).path.lstrip("/")}"' if template else ""
    with _admin_connect(postgres_url) as admin:
        admin.execute(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield _with_database(postgres_url, name)
    finally:
        with contextlib.suppress(Exception), _admin_connect(postgres_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TempPostgres:
    """A throwaway PostgreSQL 15 cluster: initdb in a temp dir, listening on 127.0.0.1 only,
    on a free port, trust auth for the local superuser. initdb refuses root, so as root the
    cluster runs as the `postgres` system user (runuser)."""

    def __init__(self) -> None:
        self.dir: Path | None = None
        self.port = 0
        self.started = False

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        if shutil.which("runuser"):
            return ["runuser", "-u", "postgres", "--", *argv]
        return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(argv)]

    def start(self) -> str:
        initdb, pg_ctl = PG_BIN / "initdb", PG_BIN / "pg_ctl"
        if not initdb.exists():
            raise RuntimeError(f"{initdb} not found")
        self.dir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.dir, user="postgres", group="postgres")
        data = self.dir / "data"
        subprocess.run(
            self._as_owner(
                [
                    str(initdb),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                    "--no-instructions",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.port = free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.dir}"
        )
        subprocess.run(
            self._as_owner(
                [
                    str(pg_ctl),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-l",
                    str(self.dir / "log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=90,
        )
        self.started = True
        return self.url

    def stop(self) -> None:
        if self.dir is None:
            return
        if self.started:
            subprocess.run(
                self._as_owner(
                    [
                        str(PG_BIN / "pg_ctl"),
                        "-D",
                        str(self.dir / "data"),
                        "-m",
                        "fast",
                        "-w",
                        "stop",
                    ]
                ),
                capture_output=True,
                timeout=60,
                check=False,
            )
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


@contextlib.contextmanager
def postgres_server(notes: list[str]) -> Iterator[str | None]:
    """The PostgreSQL server to benchmark on: BENCH_DATABASE_URL / DATABASE_URL, else a
    throwaway cluster started here and stopped at the end, else None (with a note)."""
    url = postgres_url_from_env()
    if url is not None or os.environ.get(NO_POSTGRES_ENV):
        if url is None:
            notes.append(f"PostgreSQL skipped: {os.environ[NO_POSTGRES_ENV]}")
        yield url
        return
    server = TempPostgres()
    try:
        try:
            url = server.start()
        except Exception as exc:
            detail = exc.stderr.decode(errors="replace")[-300:] if hasattr(exc, "stderr") else ""
            notes.append(f"PostgreSQL skipped: could not start a throwaway server ({exc} {detail})")
            yield None
            return
        yield url
    finally:
        server.stop()


# --- Child processes -----------------------------------------------------------------------


def progress(message: str) -> None:
    """A progress line on stderr; the runner passes these through as they come."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run_child(argv: list[str], *, env: dict[str, str], timeout: float) -> tuple[Report, str]:
    """Run `python -m bench.X ... --json-out FILE` and read its report. Returns the report
    (empty with a note on failure) and the tail of its stderr. Its progress lines are
    echoed to this process's stderr as they come."""
    with tempfile.TemporaryDirectory(prefix="bench-out-") as tmp:
        out = Path(tmp) / "report.json"
        cmd = [PYTHON, *argv, "--json-out", str(out)]
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        tail: collections.deque[str] = collections.deque(maxlen=60)

        def pump() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                tail.append(line)
                if line.lstrip().startswith("bench: "):  # nested runners indent theirs
                    sys.stderr.write("  " + line)
                    sys.stderr.flush()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        reader.join(timeout=10)
        text = "".join(tail)[-3000:]
        name = " ".join(argv)
        if timed_out:
            report = Report(notes=[f"{name}: timed out after {timeout:.0f} s"])
            report.meta["failed"] = [name]
            return report, text
        if proc.returncode != 0 or not out.exists():
            last = text.strip().splitlines()[-1] if text.strip() else "no output"
            report = Report(notes=[f"{name}: failed (exit {proc.returncode}): {last}"])
            report.meta["failed"] = [name]
            return report, text
        return Report.from_json(json.loads(out.read_text())), text


def _run_foreign(module_name: str, quick: bool) -> Report:
    module = importlib.import_module(module_name)
    results = module.run(quick=quick)
    report = Report(results={k: v for k, v in results.items() if isinstance(v, int | float)})
    for key, value in results.items():
        if not isinstance(value, int | float):
            report.notes.append(f"{key}: {value}")
    for key, spec in (getattr(module, "TARGETS", None) or {}).items():
        if isinstance(spec, Target):
            report.targets[key] = spec
        else:  # (op, value[, baseline])
            report.targets[key] = Target(*spec)
    report.notes.extend(getattr(module, "NOTES", None) or [])
    return report


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.common")
    parser.add_argument("--module", required=True, help="e.g. bench.dispatch")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    report = _run_foreign(args.module, args.quick)
    data = report.as_json()
    if args.json_out:
        write_json(args.json_out, data)
    print(json.dumps(data, indent=2))


if __name__ == "__main__":
    main()
