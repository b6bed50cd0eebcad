"""The counselor dashboard: GET /api/v1/dashboard/caseload/ for 10 and 500 patients.

Each patient has 30 days of check-ins (a few days skipped), attendance at the program's
sessions of the last four weeks, and some open, acknowledged and resolved flags. Two
counselors in the same program: one with 10 patients, one with 500. The requests go
through Django's test client with a JWT, in this process (no HTTP server, so the figure is
the application's own time: middleware, DRF, queries, serialisation), alternating between
the two caseloads; the latency is the median. The query count is taken with
CaptureQueriesContext on one request each, after a warm-up.

On PostgreSQL (BENCH_DATABASE_URL, DATABASE_URL, or a throwaway server) and SQLite, each in
its own process (quick: PostgreSQL only). Keys `dashboard.<db>.*`; the headline keys
`dashboard.*` are PostgreSQL's if it was measured, else SQLite's.

    python -m bench.dashboard [--quick]                  # both databases
    python -m bench.dashboard --backend sqlite           # one, in this process
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
import zoneinfo
from datetime import datetime, timedelta
from typing import Any

from bench.common import (
    UNUSABLE,
    Report,
    Target,
    bench_env,
    cli,
    db_version,
    fresh_database,
    median,
    postgres_server,
    postgres_url_from_env,
    progress,
    rounded,
    run_child,
    setup_django,
    summarize_sql,
)

SMALL, LARGE = 10, 500
MAX_MS_LARGE = 100  # issue 13: the caseload of 500 under 100 ms
DAYS = 30
REPEATS, QUICK_REPEATS = 21, 5
WARMUP = 2
ZONE = "America/New_York"
PATH = "/api/v1/dashboard/caseload/"


def populate(now: datetime) -> tuple[Any, Any]:
    """Two counselors' caseloads and everything the dashboard reads about them."""
    from django.db import transaction

    from backend.timezones import local_date
    from recovery.models import (
        Attendance,
        AttendanceStatus,
        CareTeamMember,
        CheckIn,
        CheckInSchedule,
        Enrollment,
        Flag,
        FlagKind,
        FlagStatus,
        Program,
        Role,
        Severity,
        TreatmentSession,
        User,
    )

    rng = random.Random(20)
    zone = zoneinfo.ZoneInfo(ZONE)
    today = local_date(now, zone)
    with transaction.atomic():
        program = Program.objects.create(name="Bench IOP", timezone=ZONE)
        small, large = User.objects.bulk_create(
            [
                User(
                    username=f"counselor{n}",
                    role=Role.COUNSELOR,
                    program=program,
                    password=UNUSABLE,
                )
                for n in range(2)
            ]
        )
        patients = User.objects.bulk_create(
            [
                User(
                    username=f"p{n}",
                    first_name=f"First{n}",
                    last_name=f"Last{n:04d}",
                    role=Role.PATIENT,
                    program=program,
                    password=UNUSABLE,
                )
                for n in range(SMALL + LARGE)
            ]
        )
        enrollments = Enrollment.objects.bulk_create(
            [
                Enrollment(
                    patient=p,
                    program=program,
                    primary_counselor=small if n < SMALL else large,
                    timezone=ZONE,
                    start_date=today - timedelta(days=45),
                )
                for n, p in enumerate(patients)
            ]
        )
        CareTeamMember.objects.bulk_create(
            [
                CareTeamMember(enrollment=e, counselor=e.primary_counselor, is_primary=True)
                for e in enrollments
            ]
        )
        CheckInSchedule.objects.bulk_create(
            [
                CheckInSchedule(
                    enrollment=e,
                    opens_at=datetime.min.time().replace(hour=17),
                    due_by=datetime.min.time().replace(hour=21),
                    days_of_week=[1, 2, 3, 4, 5] if n % 3 == 0 else [1, 2, 3, 4, 5, 6, 7],
                )
                for n, e in enumerate(enrollments)
            ]
        )
        checkins = []
        for e in enrollments:
            for back in range(DAYS):
                if rng.random() < 0.15:
                    continue  # a missed day
                day = today - timedelta(days=back)
                at = datetime.combine(day, datetime.min.time().replace(hour=19), tzinfo=zone)
                at = min(at, now - timedelta(minutes=1))
                checkins.append(
                    CheckIn(
                        enrollment=e,
                        client_id=uuid.uuid4(),
                        mood=rng.randint(1, 5),
                        craving=rng.randint(0, 10),
                        used_substance=False,
                        device_time=at,
                        device_timezone=ZONE,
                        received_at=at,
                        payload_hash="bench",
                    )
                )
        CheckIn.objects.bulk_create(checkins, batch_size=2000)
        sessions = TreatmentSession.objects.bulk_create(
            [
                TreatmentSession(
                    program=program,
                    kind="group_therapy",
                    title="Process group",
                    starts_at=start,
                    ends_at=start + timedelta(hours=3),
                )
                for n in range(12)
                if (start := now - timedelta(days=28) + timedelta(days=n * 7 / 3)) < now
            ]
        )
        statuses = [AttendanceStatus.PRESENT] * 7 + [
            AttendanceStatus.LATE,
            AttendanceStatus.ABSENT,
            AttendanceStatus.EXCUSED,
        ]
        Attendance.objects.bulk_create(
            [
                Attendance(
                    session=s,
                    enrollment=e,
                    status=(status := rng.choice(statuses)),
                    minutes_attended=0 if status in ("absent", "excused") else 180,
                    recorded_at=s.ends_at,
                )
                for s in sessions
                for e in enrollments
                if rng.random() < 0.9
            ],
            batch_size=2000,
        )
        kinds = [FlagKind.MISSED_CHECKIN, FlagKind.HIGH_CRAVING, FlagKind.URGE]
        severity = {
            FlagKind.MISSED_CHECKIN: Severity.WARNING,
            FlagKind.HIGH_CRAVING: Severity.WARNING,
            FlagKind.URGE: Severity.WARNING,
        }
        flags = []
        for e in enrollments:
            for n in range(rng.randint(0, 4)):
                kind = kinds[n % len(kinds)]
                status = [FlagStatus.OPEN, FlagStatus.ACKNOWLEDGED, FlagStatus.RESOLVED][n % 3]
                flags.append(
                    Flag(
                        enrollment=e,
                        kind=kind,
                        severity=severity[kind],
                        window_key=(today - timedelta(days=n)).isoformat(),
                        status=status,
                        assigned_to=e.primary_counselor,
                        created_at=now - timedelta(days=n),
                    )
                )
        Flag.objects.bulk_create(flags, batch_size=2000)
    return small, large


def measure(args: argparse.Namespace) -> Report:
    """Both databases (full) or the headline one (quick), each in its own process."""
    if args.backend:
        return measure_backend(args.backend, args.quick)
    report = Report()
    with postgres_server(report.notes) as pg_url:
        backends = ["postgres", "sqlite"] if pg_url else ["sqlite"]
        if pg_url is None:
            report.notes.append("dashboard: ran on SQLite only (no PostgreSQL server)")
        elif args.quick:
            backends = ["postgres"]
        for backend in backends:
            env = bench_env()
            if pg_url:
                env["BENCH_DATABASE_URL"] = pg_url
            argv = ["-m", "bench.dashboard", "--backend", backend]
            child, stderr = run_child(
                argv + (["--quick"] if args.quick else []), env=env, timeout=900
            )
            if not child.results:
                child.notes.append(f"dashboard.{backend} stderr: {stderr.strip()[-500:]}")
            report.merge(child)
    summarize(report)
    return report


def summarize(report: Report) -> None:
    """The headline keys come from PostgreSQL if it was measured, else SQLite."""
    results = report.results
    db = "postgres" if "dashboard.postgres.ms_500" in results else "sqlite"
    report.meta["dashboard.headline_database"] = db
    for name in (f"queries_{SMALL}", f"queries_{LARGE}", f"ms_{SMALL}", f"ms_{LARGE}"):
        if f"dashboard.{db}.{name}" in results:
            results[f"dashboard.{name}"] = results[f"dashboard.{db}.{name}"]
    for prefix in ("dashboard", "dashboard.postgres", "dashboard.sqlite"):
        if f"{prefix}.queries_{LARGE}" in results:
            report.targets[f"{prefix}.queries_{LARGE}"] = Target(
                "==", f"{prefix}.queries_{SMALL}", f"{prefix}.queries_{SMALL}"
            )
            report.targets[f"{prefix}.ms_{LARGE}"] = Target(
                "<", MAX_MS_LARGE, f"{prefix}.ms_{SMALL}"
            )


def measure_backend(backend: str, quick: bool) -> Report:
    report = Report()
    pg_url = postgres_url_from_env() if backend == "postgres" else None
    if backend == "postgres" and pg_url is None:
        report.notes.append("dashboard: PostgreSQL skipped (no server)")
        return report
    with fresh_database(backend, "dashboard", pg_url) as url:
        setup_django(url)
        from django.db import connections

        try:
            report.meta[f"dashboard.{backend}.version"] = db_version()
            _measure(report, backend, quick)
        finally:
            connections.close_all()
    return report


def _measure(report: Report, db: str, quick: bool) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    from bench.common import analyze

    small, large = populate(timezone.now())
    analyze()
    progress(f"dashboard.{db}: populated")
    clients = {}
    for size, user in ((SMALL, small), (LARGE, large)):
        client = APIClient(SERVER_NAME="127.0.0.1")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
        clients[size] = client

    def get(size: int) -> float:
        started = time.perf_counter()
        response = clients[size].get(PATH)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200 or len(response.json()) != size:
            raise AssertionError(f"caseload of {size}: {response.status_code}")
        return elapsed

    for _ in range(WARMUP):
        get(SMALL)
        get(LARGE)
    for size in (SMALL, LARGE):
        with CaptureQueriesContext(connection) as queries:
            get(size)
        report.results[f"dashboard.{db}.queries_{size}"] = len(queries.captured_queries)
        if size == LARGE:
            report.meta[f"dashboard.{db}.queries"] = [
                summarize_sql(q["sql"]) for q in queries.captured_queries
            ]
    times: dict[int, list[float]] = {SMALL: [], LARGE: []}
    for n in range(QUICK_REPEATS if quick else REPEATS):
        for size in (SMALL, LARGE) if n % 2 == 0 else (LARGE, SMALL):
            times[size].append(get(size))
    for size in (SMALL, LARGE):
        report.results[f"dashboard.{db}.ms_{size}"] = rounded(median(times[size]))
        progress(f"dashboard.{db}: caseload of {size}: {median(times[size]):.0f} ms")
    report.meta["dashboard.data"] = (
        f"{DAYS} days of check-ins per patient (15% of days skipped), 12 sessions over 4 "
        "weeks with 90% recorded attendance, 0-4 flags per patient"
    )


def _extra(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=("sqlite", "postgres"), help="one database only")


def run(*, quick: bool) -> dict[str, float | int]:
    return measure(argparse.Namespace(quick=quick, backend=None)).results


if __name__ == "__main__":
    cli("dashboard", measure, _extra)
