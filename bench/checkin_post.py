"""Check-in submissions: POST /api/v1/checkins/ with a JWT, against a real server.

One uvicorn process (`backend.asgi:application` on 127.0.0.1, a free port) serves the real
API plus one bench-only route: a plain Django view that does the same insert with
`CheckIn.objects.create` and nothing else (no DRF, no JWT, no rules). An httpx async client
keeps a fixed number of requests in flight and alternates rounds between the two, so the
ratio compares them on the same server, database and moment. Each real request is a
different patient's first check-in inside an open window -- the common case, which also
moves the patient's schedule on. Answers must be 201; anything else is counted.

The same run measures the questionnaire submission the same way: POST
/api/v1/questionnaire-responses/ with a PHQ-9 (no risk answer) answering the patient's
due PHQ-9 assignment (the scheduled case: it completes the assignment and looks up the
incentives), a different patient each time, in the same rounds against the same plain view.

Queries per request are counted in this process with Django's CaptureQueriesContext on
the test client, on the same database.

The database is PostgreSQL if available (BENCH_DATABASE_URL, DATABASE_URL, or a throwaway
server), else SQLite. backend/settings.py has no ROOT_URLCONF override, so the server
process (`python -m bench.checkin_post --serve`) sets `settings.ROOT_URLCONF` to this
module after `django.setup()`; its `urlpatterns` are backend.urls' plus the plain view.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
import zoneinfo
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.common import (
    PYTHON,
    ROOT,
    UNUSABLE,
    Report,
    Target,
    bench_env,
    cli,
    db_version,
    free_port,
    fresh_database,
    median,
    percentile,
    postgres_server,
    progress,
    rounded,
    setup_django,
    stub_dispatch_enqueue,
    summarize_sql,
)

CONCURRENCY = 8
# Targets of issue 13: statements besides BEGIN/COMMIT, and API throughput / plain view's.
MAX_STATEMENTS = 5
MIN_RATIO_TO_PLAIN = 0.7
TRANSACTION_CONTROL = {"BEGIN", "COMMIT"}
ROUNDS, PER_ROUND = 5, 400
QUICK_ROUNDS, QUICK_PER_ROUND = 3, 60
WARMUP = 4 * CONCURRENCY
QUERY_SAMPLES = 5
ZONE = "America/New_York"
PLAIN_PATH = "/bench/plain-checkin/"
REAL_PATH = "/api/v1/checkins/"
QUESTIONNAIRE_PATH = "/api/v1/questionnaire-responses/"
# What each timed request is: the check-in API, the questionnaire API, the plain view.
CHECKIN, QUESTIONNAIRE, PLAIN = "checkin", "questionnaire", "plain"
SERVER_START_TIMEOUT_S = 60


# --- The server side: the plain view and the URLconf ---------------------------------------


def plain_checkin(request: Any) -> Any:
    """The baseline: parse JSON, insert the row, answer 201. Same fields as the API."""
    from django.http import JsonResponse
    from django.utils import timezone
    from django.utils.dateparse import parse_datetime

    from recovery.models import CheckIn

    data = json.loads(request.body)
    checkin = CheckIn.objects.create(
        enrollment_id=int(data["enrollment"]),
        client_id=uuid.UUID(data["id"]),
        mood=int(data["mood"]),
        craving=int(data["craving"]),
        used_substance=bool(data["used_substance"]),
        hours_slept=Decimal(data["hours_slept"]) if data.get("hours_slept") else None,
        device_time=parse_datetime(data["device_time"]),
        device_timezone=data["device_timezone"],
        received_at=timezone.now(),
        payload_hash="",
    )
    return JsonResponse({"id": str(checkin.client_id)}, status=201)


def __getattr__(name: str) -> Any:
    """`urlpatterns`, built on first use (Django must be set up first): ROOT_URLCONF."""
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt
    from django.views.decorators.http import require_POST

    from backend.urls import urlpatterns

    view = csrf_exempt(require_POST(plain_checkin))
    return [*urlpatterns, path(PLAIN_PATH.strip("/") + "/", view)]


def serve(port: int) -> None:
    """The server process: the project's ASGI application on 127.0.0.1:port."""
    import uvicorn

    setup_django(os.environ["DATABASE_URL"], migrate=False)
    from django.conf import settings

    settings.ROOT_URLCONF = __name__ if __name__ != "__main__" else "bench.checkin_post"
    from backend.asgi import application

    uvicorn.run(
        application,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


# --- Data ----------------------------------------------------------------------------------


def populate(patients: int) -> tuple[Any, list[Any]]:
    """A program, a counselor and `patients` patients whose check-in window is open now."""
    from django.db import transaction
    from django.utils import timezone

    from recovery.models import (
        AssignmentSource,
        AssignmentStatus,
        CareTeamMember,
        CheckInSchedule,
        Enrollment,
        Program,
        QuestionnaireAssignment,
        Role,
        User,
    )
    from recovery.services.windows import first_window_closing_after

    now = timezone.now()
    local = now.astimezone(zoneinfo.ZoneInfo(ZONE))
    opens = (local - timedelta(hours=2)).time().replace(second=0, microsecond=0)
    due = (local + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    template = CheckInSchedule(opens_at=opens, due_by=due, days_of_week=[1, 2, 3, 4, 5, 6, 7])
    window = first_window_closing_after(template, now, ZONE)
    assert window is not None
    assert window.opens <= now <= window.deadline
    with transaction.atomic():
        program = Program.objects.create(name="Bench IOP", timezone=ZONE)
        counselor = User.objects.create(
            username="counselor", role=Role.COUNSELOR, program=program, password=UNUSABLE
        )
        users = User.objects.bulk_create(
            [
                User(username=f"p{n}", role=Role.PATIENT, program=program, password=UNUSABLE)
                for n in range(patients)
            ],
            batch_size=1000,
        )
        enrollments = Enrollment.objects.bulk_create(
            [
                Enrollment(
                    patient=u,
                    program=program,
                    primary_counselor=counselor,
                    timezone=ZONE,
                    start_date=local.date() - timedelta(days=10),
                )
                for u in users
            ],
            batch_size=1000,
        )
        CareTeamMember.objects.bulk_create(
            [
                CareTeamMember(enrollment=e, counselor=counselor, is_primary=True)
                for e in enrollments
            ],
            batch_size=1000,
        )
        CheckInSchedule.objects.bulk_create(
            [
                CheckInSchedule(
                    enrollment=e,
                    opens_at=opens,
                    due_by=due,
                    days_of_week=[1, 2, 3, 4, 5, 6, 7],
                    next_due_at=window.deadline,
                    next_window_date=window.day,
                )
                for e in enrollments
            ],
            batch_size=1000,
        )
        QuestionnaireAssignment.objects.bulk_create(
            [
                QuestionnaireAssignment(
                    enrollment=e,
                    instrument="phq9",
                    due_at=now - timedelta(hours=1),
                    closes_at=now + timedelta(days=3),
                    status=AssignmentStatus.DUE,
                    source=AssignmentSource.SCHEDULE,
                )
                for e in enrollments
            ],
            batch_size=1000,
        )
    return program, enrollments


def token_for(user: Any) -> str:
    from rest_framework_simplejwt.tokens import AccessToken

    return str(AccessToken.for_user(user))


def checkin_body(device_time: datetime) -> dict[str, Any]:
    """No flag, no crisis: the everyday check-in."""
    return {
        "id": str(uuid.uuid4()),
        "mood": 4,
        "craving": 2,
        "used_substance": False,
        "hours_slept": "7.5",
        "device_time": device_time.isoformat(),
        "device_timezone": ZONE,
    }


def questionnaire_body(device_time: datetime) -> dict[str, Any]:
    """A PHQ-9 totalling 7 with item 9 at zero: no alert, the everyday submission."""
    answers = {str(item): "1" for item in range(1, 8)} | {"8": "0", "9": "0"}
    return {
        "id": str(uuid.uuid4()),
        "instrument": "phq9",
        "answers": answers,
        "device_time": device_time.isoformat(),
        "device_timezone": ZONE,
    }


def body_of(kind: str, device_time: datetime) -> dict[str, Any]:
    return questionnaire_body(device_time) if kind == QUESTIONNAIRE else checkin_body(device_time)


def path_of(kind: str) -> str:
    return {CHECKIN: REAL_PATH, QUESTIONNAIRE: QUESTIONNAIRE_PATH, PLAIN: PLAIN_PATH}[kind]


# --- Queries per request, in process -------------------------------------------------------


def count_queries(enrollments: list[Any], report: Report, kind: str = CHECKIN) -> None:
    """Statements of one API request of `kind`, median over QUERY_SAMPLES patients; keys
    `checkin_post.queries_per_request` (check-in) or `checkin_post.<kind>_...`."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from rest_framework.test import APIClient

    counts: list[int] = []
    with_transactions: list[int] = []
    sample: list[str] = []
    for n, enrollment in enumerate(enrollments[: QUERY_SAMPLES + 1]):
        client = APIClient(SERVER_NAME="127.0.0.1")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(enrollment.patient)}")
        with CaptureQueriesContext(connection) as queries:
            response = client.post(path_of(kind), body_of(kind, timezone.now()), format="json")
        if response.status_code != 201:
            raise AssertionError(
                f"in-process POST answered {response.status_code}: {response.content[:300]!r}"
            )
        if n == 0:
            continue  # warm-up: first request of the process
        statements = [q["sql"] for q in queries.captured_queries]
        counts.append(len([sql for sql in statements if sql not in TRANSACTION_CONTROL]))
        with_transactions.append(len(statements))
        if not sample:
            sample = [summarize_sql(q["sql"]) for q in queries.captured_queries]
    prefix = "checkin_post." if kind == CHECKIN else f"checkin_post.{kind}_"
    report.results[prefix + "queries_per_request"] = int(median([float(c) for c in counts]))
    report.results[prefix + "statements_with_transactions"] = int(
        median([float(c) for c in with_transactions])
    )
    report.meta[prefix + "queries"] = sample
    if report.results[prefix + "queries_per_request"] > MAX_STATEMENTS:
        report.notes.append(
            f"checkin_post: the queries of one {kind} POST: "
            + " | ".join(f"[{i + 1}] {q}" for i, q in enumerate(sample))
        )


# --- Load ----------------------------------------------------------------------------------


class Server:
    def __init__(self, database_url: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = bench_env(database_url)
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "bench.checkin_post", "--serve", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

    def wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"server exited: {err[-800:]}")
            try:
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not answer /healthz in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


Request = tuple[str, dict[str, str], bytes]


async def fire(
    base: str, requests: list[Request], concurrency: int
) -> tuple[float, list[float], list[str]]:
    """Send `requests` keeping `concurrency` in flight. Returns wall seconds, latencies
    in ms, and the errors (non-201 answers)."""
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    position = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal position
            while position < len(requests):
                url, headers, body = requests[position]
                position += 1
                started = time.perf_counter()
                try:
                    response = await client.post(url, content=body, headers=headers)
                    status = str(response.status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                latencies.append((time.perf_counter() - started) * 1000)
                if status != "201":
                    errors.append(status)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, errors


def build_requests(
    enrollments: list[Any], tokens: dict[int, str], kind: str, count: int, start: int
) -> list[Request]:
    from django.utils import timezone

    requests: list[Request] = []
    for n in range(count):
        enrollment = enrollments[(start + n) % len(enrollments)]
        body = body_of(kind, timezone.now())
        headers = {"Content-Type": "application/json"}
        if kind == PLAIN:
            body["enrollment"] = enrollment.id
        else:
            headers["Authorization"] = f"Bearer {tokens[enrollment.id]}"
        requests.append((path_of(kind), headers, json.dumps(body).encode()))
    return requests


def load(report: Report, server: Server, enrollments: list[Any], quick: bool) -> None:
    rounds, per_round = (QUICK_ROUNDS, QUICK_PER_ROUND) if quick else (ROUNDS, PER_ROUND)
    tokens = {e.id: token_for(e.patient) for e in enrollments}
    # Each API request is a new patient's first check-in of the window, or the first
    # answer to their due PHQ-9: each kind walks the patients on its own.
    used = {CHECKIN: 0, QUESTIONNAIRE: 0}

    def batch_of(kind: str, count: int, round_no: int) -> list[Request]:
        if kind == PLAIN:
            return build_requests(enrollments, tokens, PLAIN, count, round_no * count)
        batch = build_requests(enrollments, tokens, kind, count, used[kind])
        used[kind] += count
        return batch

    kinds = (CHECKIN, QUESTIONNAIRE, PLAIN)
    for kind in kinds:  # warm-up, untimed
        _, _, refused = asyncio.run(fire(server.base, batch_of(kind, WARMUP, 0), CONCURRENCY))
        if refused:
            raise RuntimeError(f"{kind} warm-up answered {sorted(set(refused))}")
    rps: dict[str, list[float]] = {kind: [] for kind in kinds}
    latencies: dict[str, list[float]] = {kind: [] for kind in kinds}
    errors: dict[str, list[str]] = {kind: [] for kind in kinds}
    for round_no in range(rounds):
        shift = round_no % len(kinds)  # each kind goes first in turn
        for kind in kinds[shift:] + kinds[:shift]:
            batch = batch_of(kind, per_round, round_no)
            seconds, lat, errs = asyncio.run(fire(server.base, batch, CONCURRENCY))
            rps[kind].append(len(batch) / seconds)
            latencies[kind].extend(lat)
            errors[kind].extend(errs)
    assert max(used.values()) <= len(enrollments), "not enough patients for one request each"
    r = report.results
    progress(
        f"checkin_post: check-in API {median(rps[CHECKIN]):.0f} rps, questionnaire API "
        f"{median(rps[QUESTIONNAIRE]):.0f} rps, plain view {median(rps[PLAIN]):.0f} rps"
    )
    plain = median(rps[PLAIN])
    for kind, prefix in (
        (CHECKIN, "checkin_post."),
        (QUESTIONNAIRE, "checkin_post.questionnaire_"),
    ):
        r[prefix + "rps"] = rounded(median(rps[kind]), 1)
        r[prefix + "p99_ms"] = rounded(percentile(latencies[kind], 99))
        r[prefix + "p50_ms"] = rounded(percentile(latencies[kind], 50))
        r[prefix + "ratio_to_plain"] = rounded(median(rps[kind]) / plain, 3)
        r[prefix + "errors"] = len(errors[kind])
    r["checkin_post.plain_rps"] = rounded(plain, 1)
    r["checkin_post.plain_p99_ms"] = rounded(percentile(latencies[PLAIN], 99))
    r["checkin_post.concurrency"] = CONCURRENCY
    r["checkin_post.requests"] = rounds * per_round
    r["checkin_post.plain_errors"] = len(errors[PLAIN])
    names = {CHECKIN: "check-in API", QUESTIONNAIRE: "questionnaire API", PLAIN: "plain view"}
    for kind in kinds:
        if errors[kind]:
            report.notes.append(
                f"checkin_post: {names[kind]} answered {sorted(set(errors[kind]))} "
                f"({len(errors[kind])} times)"
            )


# --- Driver --------------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> Report:
    if args.serve:
        serve(args.port)
        raise SystemExit(0)
    report = Report()
    rounds, per_round = (QUICK_ROUNDS, QUICK_PER_ROUND) if args.quick else (ROUNDS, PER_ROUND)
    patients = WARMUP + rounds * per_round + QUERY_SAMPLES + 1 + 10
    with postgres_server(report.notes) as pg_url:
        backend = "postgres" if pg_url else "sqlite"
        if pg_url is None:
            report.notes.append("checkin_post: ran on SQLite (no PostgreSQL server)")
        with fresh_database(backend, "checkin", pg_url) as url:
            setup_django(url)
            from django.db import connections

            report.meta["checkin_post.database"] = db_version()
            try:
                _, enrollments = populate(patients)
                enrollments = list(
                    type(enrollments[0]).objects.select_related("patient").order_by("id")
                )
                with stub_dispatch_enqueue():
                    for kind in (CHECKIN, QUESTIONNAIRE):
                        count_queries(enrollments[-(QUERY_SAMPLES + 1) :], report, kind)
                connections.close_all()
                server = Server(url)
                try:
                    server.wait_ready()
                    load(report, server, enrollments[: -(QUERY_SAMPLES + 1)], args.quick)
                finally:
                    server.stop()
            finally:
                connections.close_all()
    report.targets["checkin_post.ratio_to_plain"] = Target(
        ">=", MIN_RATIO_TO_PLAIN, "checkin_post.plain_rps"
    )
    report.targets["checkin_post.queries_per_request"] = Target("<=", MAX_STATEMENTS)
    report.targets["checkin_post.questionnaire_ratio_to_plain"] = Target(
        ">=", MIN_RATIO_TO_PLAIN, "checkin_post.plain_rps"
    )
    report.targets["checkin_post.questionnaire_queries_per_request"] = Target("<=", MAX_STATEMENTS)
    for prefix in ("checkin_post.", "checkin_post.questionnaire_"):
        report.baselines[prefix + "rps"] = "checkin_post.plain_rps"
        report.baselines[prefix + "p99_ms"] = "checkin_post.plain_p99_ms"
    return report


def _extra(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)


def run(*, quick: bool) -> dict[str, float | int]:
    return measure(argparse.Namespace(quick=quick, serve=False, port=0)).results


if __name__ == "__main__":
    cli("checkin_post", measure, _extra)
