"""The missed check-in sweep at 10k, 100k and 1M patients with 1,000 due each time.

`recovery.services.sweep.sweep_missed_checkins` must cost what the due patients cost, not
what all patients cost. Measured on SQLite and PostgreSQL (each in its own process), and in
the same run against two baselines on the same data:

* naive: load every schedule with its enrollment, check it in Python, flag the due ones;
* one at a time: the shape of healthchecks' `sendalerts` -- repeatedly take
  `.filter(next_due_at__lte=now).order_by().first()`, claim that one row with a conditional
  UPDATE checked by its row count, then flag it.

Each size has its own database; the timed runs go round the sizes and baselines in turns
(3 rounds), so that a burst of load on the shared machine hits them alike. Each timed run
flags every due window (flags, their events and the notification rows, nudges included)
and is checked for it. Before each run the due rows are put back and the rows the sweep
wrote deleted.

    python -m bench.sweep [--quick]                      # both databases
    python -m bench.sweep --backend sqlite [--quick]     # one, in this process
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any

from bench.common import (
    UNUSABLE,
    Report,
    Target,
    analyze,
    bench_env,
    cli,
    db_version,
    fresh_database,
    median,
    postgres_server,
    postgres_url_from_env,
    progress,
    reset_sequences,
    rounded,
    run_child,
    setup_django,
    stub_dispatch_enqueue,
)

SIZES = (10_000, 100_000, 1_000_000)
DUE = 1_000
QUICK_SIZES = (1_000, 10_000)
QUICK_DUE = 100
REPEATS = 3
COUNSELORS = 20
USER_ID_OFFSET = 1_000  # patient user id = offset + enrollment id; staff ids stay below
ZONE = "America/New_York"
CHUNK = 100_000
# Stop growing the table when the next size would take longer than this to populate.
POPULATE_BUDGET_S = float(os.environ.get("BENCH_POPULATE_BUDGET_S", "300"))
# A baseline slower than this per run is measured once, not REPEATS times.
SLOW_BASELINE_S = float(os.environ.get("BENCH_SLOW_BASELINE_S", "150"))

# Every 40th patient is discharged and every 40th (offset 20) has a paused schedule: both
# have next_due_at NULL. Every 10th schedule had already missed its previous window, so
# the sweep also raises a "missed in a row" flag for it.
DISCHARGED, PAUSED, MODULO = 0, 20, 40
NEVER = datetime.min.replace(tzinfo=UTC)  # placeholder until populate() sets the windows


@dataclass
class World:
    """One size: its own database, filled with `size` patients."""

    database: str  # the NAME of Django's default connection for it
    size: int
    now: datetime
    program_id: int = 0
    first_counselor_id: int = 0
    due_day: date = date.min
    due_deadline: datetime = NEVER
    next_day: date = date.min
    next_deadline: datetime = NEVER
    due_ids: list[int] = field(default_factory=list)


# --- Populating ----------------------------------------------------------------------------


def insert_series(model: Any, first: int, last: int, exprs: dict[str, Any]) -> None:
    """INSERT ... SELECT over the integers `i` in [first, last], server-side: a SQL
    expression per column (`i` is the row number), the field's default otherwise."""
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    columns: list[str] = []
    values: list[str] = []
    params: list[Any] = []
    for f in model._meta.concrete_fields:
        columns.append(connection.ops.quote_name(f.column))
        if f.column in exprs:
            expr = exprs[f.column]
            sql, expr_params = (expr, []) if isinstance(expr, str) else expr
            values.append(sql)
            params.extend(expr_params)
        elif f.primary_key:
            values.append("i")
        else:
            auto = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
            value = now if auto else f.get_default()
            if value is None and not f.null:
                raise RuntimeError(f"{model.__name__}.{f.name}: no value for a NOT NULL column")
            values.append("%s")
            params.append(f.get_db_prep_save(value, connection))
    table = connection.ops.quote_name(model._meta.db_table)
    # Only quoted names from the models' metadata and fixed expressions go into the text;
    # every value is a query parameter.
    insert = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)}"
    with connection.cursor() as cursor:
        for start in range(first, last + 1, CHUNK):
            stop = min(last, start + CHUNK - 1)
            if connection.vendor == "postgresql":
                sql = f"{insert} FROM generate_series(%s::bigint, %s::bigint) AS s(i)"
                cursor.execute(sql, [*params, start, stop])
            else:
                series = "SELECT %s UNION ALL SELECT i + 1 FROM s WHERE i < %s"
                sql = f"WITH RECURSIVE s(i) AS ({series}) {insert} FROM s"
                cursor.execute(sql, [start, stop, *params])


def make_staff(world: World) -> None:
    """The program, its counselors, and the two windows: the one that just closed (due)
    and the next one."""
    from backend.timezones import local_date
    from recovery.models import CheckInSchedule, Program, Role, User
    from recovery.services.windows import window_on

    program = Program.objects.create(name="Bench IOP", timezone=ZONE)
    counselors = User.objects.bulk_create(
        [
            User(username=f"counselor{n}", role=Role.COUNSELOR, program=program, password=UNUSABLE)
            for n in range(COUNSELORS)
        ]
    )
    ids = sorted(c.id for c in counselors)
    assert ids == list(range(ids[0], ids[0] + COUNSELORS))
    assert ids[-1] < USER_ID_OFFSET
    now = world.now
    template = template_schedule(CheckInSchedule)
    today = local_date(now, ZONE)
    windows = [window_on(template, today - timedelta(days=n), ZONE) for n in range(4)]
    due = max((w for w in windows if w is not None and w.deadline <= now), key=lambda w: w.day)
    following = window_on(template, due.day + timedelta(days=1), ZONE)
    assert following is not None
    assert following.deadline > now
    world.program_id, world.first_counselor_id = program.id, ids[0]
    world.due_day, world.due_deadline = due.day, due.deadline
    world.next_day, world.next_deadline = following.day, following.deadline


def template_schedule(model: Any) -> Any:
    return model(opens_at=clock(17), due_by=clock(21), days_of_week=[1, 2, 3, 4, 5, 6, 7])


def populate(world: World) -> None:
    """Patients 1 .. world.size: users, enrollments, care teams, schedules; no one due."""
    from django.db import connection, transaction

    from recovery.models import CareTeamMember, CheckInSchedule, Enrollment, User

    make_staff(world)
    first, last = 1, world.size

    def prep(model: Any, name: str, value: Any) -> Any:
        return model._meta.get_field(name).get_db_prep_save(value, connection)

    counselor = f"({world.first_counselor_id} + (i %% {COUNSELORS}))"
    odd = f"i %% {MODULO}"
    with transaction.atomic():
        insert_series(
            User,
            first,
            last,
            {
                "id": f"(i + {USER_ID_OFFSET})",
                "password": "'!'",
                "username": "('patient' || CAST(i AS TEXT))",
                "first_name": "'Pat'",
                "last_name": "('Patient' || CAST(i AS TEXT))",
                "role": "'patient'",
                "program_id": ("%s", [world.program_id]),
            },
        )
        insert_series(
            Enrollment,
            first,
            last,
            {
                "patient_id": f"(i + {USER_ID_OFFSET})",
                "program_id": ("%s", [world.program_id]),
                "primary_counselor_id": counselor,
                "status": f"CASE WHEN {odd} = {DISCHARGED} THEN 'discharged' ELSE 'active' END",
                "timezone": f"'{ZONE}'",
                "start_date": ("%s", [prep(Enrollment, "start_date", world.due_day)]),
            },
        )
        insert_series(
            CareTeamMember,
            first,
            last,
            {
                "enrollment_id": "i",
                "counselor_id": counselor,
                "is_primary": ("%s", [True]),
            },
        )
        template = template_schedule(CheckInSchedule)
        insert_series(
            CheckInSchedule,
            first,
            last,
            {
                "enrollment_id": "i",
                "opens_at": ("%s", [prep(CheckInSchedule, "opens_at", template.opens_at)]),
                "due_by": ("%s", [prep(CheckInSchedule, "due_by", template.due_by)]),
                "days_of_week": (
                    "%s",
                    [prep(CheckInSchedule, "days_of_week", [1, 2, 3, 4, 5, 6, 7])],
                ),
                "paused": (f"CASE WHEN {odd} = {PAUSED} THEN %s ELSE %s END", [True, False]),
                "next_due_at": (
                    f"CASE WHEN {odd} IN ({DISCHARGED}, {PAUSED}) THEN NULL ELSE %s END",
                    [prep(CheckInSchedule, "next_due_at", world.next_deadline)],
                ),
                "next_window_date": (
                    f"CASE WHEN {odd} IN ({DISCHARGED}, {PAUSED}) THEN NULL ELSE %s END",
                    [prep(CheckInSchedule, "next_window_date", world.next_day)],
                ),
            },
        )
    reset_sequences([User, Enrollment, CareTeamMember, CheckInSchedule])
    analyze()


def set_due(world: World, ids: list[int], *, due: bool) -> None:
    """Point schedules at the window that just closed (due) or at the next one."""
    from django.db import connection, transaction

    from recovery.models import CheckInSchedule

    table = connection.ops.quote_name(CheckInSchedule._meta.db_table)
    deadline, day = (
        (world.due_deadline, world.due_day) if due else (world.next_deadline, world.next_day)
    )
    f_due = CheckInSchedule._meta.get_field("next_due_at")
    f_day = CheckInSchedule._meta.get_field("next_window_date")
    missed = "CASE WHEN id %% 10 = 0 THEN 1 ELSE 0 END" if due else "0"
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            cursor.execute(
                f"UPDATE {table} SET next_due_at = %s, next_window_date = %s, "  # noqa: S608
                f"consecutive_missed = {missed} WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                [
                    f_due.get_db_prep_save(deadline, connection),
                    f_day.get_db_prep_save(day, connection),
                    *chunk,
                ],
            )


def clear_outputs() -> None:
    """Delete what a sweep wrote: flags, their events, notifications."""
    from django.db import connection, transaction

    from notifications.models import Notification
    from recovery.models import Flag, FlagEvent

    with transaction.atomic(), connection.cursor() as cursor:
        for model in (FlagEvent, Flag, Notification):
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (a model's own table)


def choose_due(size: int, count: int) -> list[int]:
    """Which schedules are due in every timed run: spread over the whole table."""
    rng = random.Random(size)
    eligible = [i for i in range(1, size + 1) if i % MODULO not in (DISCHARGED, PAUSED)]
    return sorted(rng.sample(eligible, count))


def prepare_run(world: World) -> None:
    clear_outputs()
    set_due(world, world.due_ids, due=True)
    analyze_small()


def analyze_small() -> None:
    """Fresh statistics for the tables a sweep writes (autovacuum would have them)."""
    from django.db import connection

    from notifications.models import Notification
    from recovery.models import Flag, FlagEvent

    with connection.cursor() as cursor:
        for model in (FlagEvent, Flag, Notification):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def expected_flags(world: World) -> int:
    return len(world.due_ids) + sum(1 for i in world.due_ids if i % 10 == 0)


def check_outputs(world: World, handled: int, label: str) -> None:
    """A timed run counts only if it did the whole job."""
    from notifications.models import Notification
    from recovery.models import CheckInSchedule, Flag

    flags = Flag.objects.count()
    due_left = CheckInSchedule.objects.filter(next_due_at__lte=world.now).count()
    notifications = Notification.objects.count()
    want_flags = expected_flags(world)
    # One nudge per advanced schedule, one notification per flag and care-team member.
    want_notifications = len(world.due_ids) + want_flags
    if (handled, flags, due_left, notifications) != (
        len(world.due_ids),
        want_flags,
        0,
        want_notifications,
    ):
        raise AssertionError(
            f"{label}: handled {handled}, flags {flags} (want {want_flags}), due left "
            f"{due_left}, notifications {notifications} (want {want_notifications})"
        )


# --- The three ways to sweep ---------------------------------------------------------------


def run_real(world: World) -> int:
    from recovery.services.sweep import sweep_missed_checkins

    return sweep_missed_checkins(now=world.now).schedules


def _flag_and_advance(schedules: list[Any], now: datetime) -> None:
    """What the sweep does with the schedules it claimed, for the naive baseline."""
    from notifications.services import notify_all
    from recovery.models import CheckInSchedule, FlagKind
    from recovery.services.flags import FlagCandidate, flags_raise
    from recovery.services.schedules import apply_window
    from recovery.services.windows import first_window_after_day

    candidates = []
    nudges = []
    for schedule in schedules:
        enrollment = schedule.enrollment
        day = schedule.next_window_date
        schedule.consecutive_missed += 1
        candidates.append(FlagCandidate(enrollment, FlagKind.MISSED_CHECKIN, day.isoformat()))
        if schedule.consecutive_missed >= 2:
            candidates.append(
                FlagCandidate(enrollment, FlagKind.MISSED_CHECKINS_IN_A_ROW, day.isoformat())
            )
        window = first_window_after_day(schedule, day, enrollment.timezone)
        nudge = apply_window(schedule, enrollment, window)
        if nudge is not None:
            nudges.append(nudge)
    CheckInSchedule.objects.bulk_update(
        schedules, ["next_due_at", "next_window_date", "consecutive_missed"]
    )
    flags_raise(candidates=candidates, now=now)
    notify_all(messages=nudges, now=now)


def run_naive(world: World) -> int:
    """Load every schedule with its enrollment; check each in Python; flag the due ones."""
    from django.db import transaction

    from recovery.models import CheckInSchedule
    from recovery.services.sweep import BATCH

    now = world.now
    with transaction.atomic():
        due = [
            schedule
            for schedule in CheckInSchedule.objects.select_related("enrollment__program")
            .order_by()
            .iterator(chunk_size=2000)
            if schedule.next_due_at is not None and schedule.next_due_at <= now
        ]
        for start in range(0, len(due), BATCH):
            _flag_and_advance(due[start : start + BATCH], now)
    return len(due)


def run_one_at_a_time(world: World) -> int:
    """healthchecks' sendalerts shape: take one due row, claim it by a conditional UPDATE
    checked by its row count, flag it; again until none is due."""
    from django.db import transaction

    from notifications.services import notify_all
    from recovery.models import CheckInSchedule, FlagKind
    from recovery.services.flags import FlagCandidate, flags_raise
    from recovery.services.schedules import apply_window
    from recovery.services.windows import first_window_after_day

    now = world.now
    handled = 0
    while True:
        schedule = (
            CheckInSchedule.objects.filter(next_due_at__lte=now)
            .select_related("enrollment__program")
            .order_by()
            .first()
        )
        if schedule is None:
            return handled
        enrollment = schedule.enrollment
        old_due, day = schedule.next_due_at, schedule.next_window_date
        schedule.consecutive_missed += 1
        window = first_window_after_day(schedule, day, enrollment.timezone)
        nudge = apply_window(schedule, enrollment, window)
        with transaction.atomic():
            claimed = CheckInSchedule.objects.filter(id=schedule.id, next_due_at=old_due).update(
                next_due_at=schedule.next_due_at,
                next_window_date=schedule.next_window_date,
                consecutive_missed=schedule.consecutive_missed,
            )
            if claimed != 1:
                continue  # another sweeper took it
            candidates = [FlagCandidate(enrollment, FlagKind.MISSED_CHECKIN, day.isoformat())]
            if schedule.consecutive_missed >= 2:
                candidates.append(
                    FlagCandidate(enrollment, FlagKind.MISSED_CHECKINS_IN_A_ROW, day.isoformat())
                )
            flags_raise(candidates=candidates, now=now)
            notify_all(messages=[nudge] if nudge else [], now=now)
        handled += 1


def timed_once(world: World, run: Any, label: str) -> float:
    """One timed run on freshly due rows, checked; milliseconds."""
    prepare_run(world)
    started = time.perf_counter()
    handled = run(world)
    elapsed = (time.perf_counter() - started) * 1000
    check_outputs(world, handled, label)
    return elapsed


def use(world: World) -> None:
    """Point Django's default connection at this size's database (as Django's test runner
    does when it switches to the test database)."""
    from django.db import connections

    connection = connections["default"]
    if connection.settings_dict["NAME"] != world.database:
        connection.close()
        connection.settings_dict["NAME"] = world.database


def failure(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


# --- One database engine, in this process ---------------------------------------------------


def measure_backend(backend: str, quick: bool) -> Report:
    """One database per size, so that the sizes can be measured in turns: a burst of load
    on the shared machine then hits every size and baseline alike, not one of them."""
    import environ

    report = Report()
    pg_url = postgres_url_from_env() if backend == "postgres" else None
    if backend == "postgres" and pg_url is None:
        report.notes.append("sweep: PostgreSQL skipped (no server)")
        return report
    sizes = QUICK_SIZES if quick else SIZES
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(fresh_database(backend, "sweep", pg_url))
        setup_django(first)  # migrated once; the other sizes start as copies of it
        from django.db import connections
        from django.utils import timezone

        connections.close_all()
        urls = [first] + [
            stack.enter_context(fresh_database(backend, "sweep", pg_url, template=first))
            for _ in sizes[1:]
        ]

        databases = [environ.Env.db_url_config(url)["NAME"] for url in urls]
        try:
            with stub_dispatch_enqueue():
                _measure(
                    report, backend, quick, timezone.now(), list(zip(sizes, databases, strict=True))
                )
        finally:
            connections.close_all()
    return report


def _measure(
    report: Report, db: str, quick: bool, now: datetime, plan: list[tuple[int, str]]
) -> None:
    from django.core.management import call_command

    due = QUICK_DUE if quick else DUE
    report.results["sweep.due_per_run"] = due
    worlds: list[World] = []
    rate: float | None = None  # seconds per row of the last populate
    for size, database in plan:
        if rate is not None and rate * size > POPULATE_BUDGET_S:
            report.notes.append(
                f"sweep.{db}: {size:,} patients not measured: populating them would take "
                f"about {rate * size:.0f} s (budget {POPULATE_BUDGET_S:.0f} s, "
                f"BENCH_POPULATE_BUDGET_S); the largest size measured is {worlds[-1].size:,}"
            )
            break
        world = World(database=database, size=size, now=now)
        use(world)
        call_command("migrate", interactive=False, verbosity=0)  # a no-op check: copies
        if not worlds:
            report.meta[f"sweep.{db}.version"] = db_version()
        started = time.perf_counter()
        populate(world)
        seconds = time.perf_counter() - started
        rate = seconds / size
        report.results[f"sweep.{db}.populate_s_{size}"] = rounded(seconds, 1)
        progress(f"sweep.{db}: {size:,} patients populated ({seconds:.1f} s)")
        world.due_ids = choose_due(size, due)
        try:  # a warm-up run, and the sweep must work at all before the tables grow
            timed_once(world, run_real, f"sweep {world.size} (warm-up)")
        except Exception as exc:
            report.notes.append(
                f"sweep.{db}: sweep_missed_checkins failed at {size:,} patients with "
                f"{due:,} due: {failure(exc)}; no larger size tried on {db}"
            )
            progress(f"sweep.{db}: sweep at {size:,} FAILED: {failure(exc)}")
            break
        worlds.append(world)
    alive = worlds
    if not alive:
        return
    # Baselines at the smallest and the largest size (quick: the largest only).
    with_baselines = {alive[-1].size} if quick else {alive[0].size, alive[-1].size}
    baselines = (("naive", run_naive), ("one_at_a_time", run_one_at_a_time))
    times: dict[tuple[str, int], list[float]] = {}
    dropped: set[tuple[str, int]] = set()
    for round_no in range(REPEATS):
        order = alive[round_no % len(alive) :] + alive[: round_no % len(alive)]
        for world in order:
            use(world)
            runs = [("sweep", run_real)]
            if world.size in with_baselines:
                runs += list(baselines)
            for name, run in runs:
                key = (name, world.size)
                if key in dropped:
                    continue
                try:
                    elapsed = timed_once(world, run, f"{name} {world.size}")
                except Exception as exc:
                    report.notes.append(
                        f"sweep.{db}: {name} failed at {world.size:,}: {failure(exc)}"
                    )
                    dropped.add(key)
                    continue
                times.setdefault(key, []).append(elapsed)
                if name != "sweep" and elapsed > SLOW_BASELINE_S * 1000:
                    dropped.add(key)  # once is enough for a baseline this slow
        progress(f"sweep.{db}: round {round_no + 1}/{REPEATS} done")

    for (name, size), values in sorted(times.items()):
        key = f"sweep.{db}.ms_{size}" if name == "sweep" else f"sweep.{db}.{name}_ms_{size}"
        report.results[key] = rounded(median(values))
        progress(f"sweep.{db}: {name} at {size:,}: {median(values):.0f} ms")
        if len(values) < REPEATS:
            report.notes.append(
                f"{key}: median of {len(values)} run(s), not {REPEATS}"
                + (
                    f" (one took {values[0] / 1000:.0f} s > BENCH_SLOW_BASELINE_S)"
                    if values[0] > SLOW_BASELINE_S * 1000
                    else ""
                )
            )
    for (name, size), values in times.items():
        if name != "sweep" and ("sweep", size) in times:
            real = median(times[("sweep", size)])
            report.results[f"sweep.{db}.speedup_vs_{name}_{size}"] = rounded(
                median(values) / real, 1
            )


# --- Both databases ------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> Report:
    if args.backend:
        return measure_backend(args.backend, args.quick)
    report = Report()
    flag = ["--quick"] if args.quick else []
    with postgres_server(report.notes) as pg_url:
        for backend in ("sqlite", "postgres"):
            if backend == "postgres" and pg_url is None:
                report.notes.append("sweep: PostgreSQL not measured (no server)")
                continue
            env = bench_env()
            if pg_url:
                env["BENCH_DATABASE_URL"] = pg_url
            child, stderr = run_child(
                ["-m", "bench.sweep", "--backend", backend, *flag],
                env=env,
                timeout=float(os.environ.get("BENCH_SWEEP_TIMEOUT_S", "3000")),
            )
            if not child.results:
                child.notes.append(f"sweep.{backend} stderr: {stderr.strip()[-500:]}")
            report.merge(child)
    summarize(report)
    return report


def summarize(report: Report) -> None:
    """The headline keys, on PostgreSQL if it was measured, else SQLite."""
    results = report.results
    db = "postgres" if any(k.startswith("sweep.postgres.ms_") for k in results) else "sqlite"
    sizes = sorted(int(k.rsplit("_", 1)[1]) for k in results if k.startswith(f"sweep.{db}.ms_"))
    if not sizes:
        report.notes.append("sweep: nothing measured")
        return
    small, large = sizes[0], sizes[-1]
    report.meta["sweep.headline_database"] = db
    if len(sizes) > 1:
        results["sweep.scaling_ratio"] = rounded(
            results[f"sweep.{db}.ms_{large}"] / results[f"sweep.{db}.ms_{small}"]
        )
        report.targets["sweep.scaling_ratio"] = Target("<=", 1.5, f"sweep.{db}.ms_{small}")
        if large != 1_000_000 and small == 10_000:
            report.notes.append(
                f"sweep.scaling_ratio is ms at {large:,} / ms at {small:,} ({db}): 1,000,000 "
                "was not measured"
            )
        elif small != 10_000:
            report.notes.append(f"sweep.scaling_ratio is ms at {large:,} / ms at {small:,} ({db})")
    for name, goal in (("naive", 50), ("one_at_a_time", 10)):
        key = f"sweep.{db}.speedup_vs_{name}_{large}"
        if key in results:
            results[f"sweep.speedup_vs_{name}"] = results[key]
            report.targets[f"sweep.speedup_vs_{name}"] = Target(
                ">=", goal, f"sweep.{db}.{name}_ms_{large}"
            )
    for key in list(results):
        parts = key.split(".")
        if len(parts) == 3 and parts[2].startswith("speedup_vs_"):
            name, size = parts[2].removeprefix("speedup_vs_").rsplit("_", 1)
            report.baselines[key] = f"sweep.{parts[1]}.{name}_ms_{size}"
            report.baselines[f"sweep.{parts[1]}.ms_{size}"] = f"sweep.{parts[1]}.naive_ms_{size}"


def _extra(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=("sqlite", "postgres"), help="one database only")


def run(*, quick: bool) -> dict[str, float | int]:
    """The runner's interface: the results only."""
    return measure(argparse.Namespace(quick=quick, backend=None)).results


if __name__ == "__main__":
    cli("sweep", measure, _extra)
