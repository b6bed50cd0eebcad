"""What immediate revocation costs: an authenticated GET with and without the check.

Every API request with a JWT reads one cache key (backend/revocation.py) on top of what
simplejwt already does (signature, expiry, one SELECT of the user). Measured in one
process through Django's test client on GET /api/v1/me/ (the cheapest authenticated
view, so the check's share is as large as it gets), alternating rounds with the check on
and with it patched out, on the same database and at the same moment; the ratio is the
figure to trust. The cache is the embedded default's local memory (bench runs without
Redis); a Redis cache adds one GET round trip per request instead, reported separately
when BENCH_REDIS_URL (a Redis to try) answers.

    .venv/bin/python -m bench.common --module bench.revocation [--quick]
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

from bench.common import median, progress, rounded, setup_django

ROUNDS, PER_ROUND = 8, 400
QUICK_ROUNDS, QUICK_PER_ROUND = 4, 150

# Read by bench.common: (op, value, baseline key).
TARGETS = {
    "revocation.throughput_ratio": (">=", 0.9, "revocation.without_check_req_per_s"),
    "revocation.check_share_of_request": ("<=", 0.02),
}
NOTES = [
    "revocation: GET /api/v1/me/ with a JWT through Django's test client, one process, "
    "SQLite, local-memory cache; rounds alternate with and without the revocation check",
]


def _rate(client: Any, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        response = client.get("/api/v1/me/")
        if response.status_code != 200:
            raise RuntimeError(f"GET /api/v1/me/ answered {response.status_code}")
    return n / (time.perf_counter() - started)


def _redis_get_us(samples: int) -> float | None:
    """Median microseconds of one GET on the Redis at BENCH_REDIS_URL, or None."""
    url = os.environ.get("BENCH_REDIS_URL") or ""
    if not url:
        return None
    try:
        import redis
    except ImportError:
        return None
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        return None
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        client.get("iop:1:revoked:family:bench")
        times.append((time.perf_counter() - started) * 1e6)
    return median(times)


def run(*, quick: bool) -> dict[str, float | int | str]:
    rounds, per_round = (QUICK_ROUNDS, QUICK_PER_ROUND) if quick else (ROUNDS, PER_ROUND)
    with tempfile.TemporaryDirectory(prefix="bench-revocation-") as tmp:
        setup_django(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        from django.core.cache import cache
        from django.test import override_settings
        from rest_framework.test import APIClient

        from recovery.models import Program, Role, User
        from recovery.services.tokens import tokens_issue

        program = Program.objects.create(name="Bench program", timezone="America/New_York")
        user = User.objects.create_user(
            username="bench-counselor", password=None, role=Role.COUNSELOR, program=program
        )
        access = tokens_issue(user=user)["access"]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

        never: Callable[..., bool] = lambda claims, user: False  # noqa: E731 - check removed
        with_check: list[float] = []
        without_check: list[float] = []
        with override_settings(ALLOWED_HOSTS=["*"]):
            _rate(client, per_round // 4)  # warm-up: imports, first queries
            for number in range(rounds):
                progress(f"revocation: round {number + 1}/{rounds}")
                # ABBA: neither variant always runs first in a round.
                for check_on in (True, False) if number % 2 == 0 else (False, True):
                    if check_on:
                        with_check.append(_rate(client, per_round))
                        continue
                    with mock.patch("backend.authentication.access_token_revoked", never):
                        without_check.append(_rate(client, per_round))

        from rest_framework_simplejwt.tokens import AccessToken

        from backend.revocation import access_token_revoked

        claims = AccessToken(access).payload  # type: ignore[arg-type]
        checks = []
        for _ in range(5000):
            started = time.perf_counter()
            access_token_revoked(claims, user=user)
            checks.append((time.perf_counter() - started) * 1e6)
        cache.clear()

    results: dict[str, float | int | str] = {
        "revocation.with_check_req_per_s": rounded(median(with_check), 1),
        "revocation.without_check_req_per_s": rounded(median(without_check), 1),
        "revocation.throughput_ratio": rounded(median(with_check) / median(without_check), 3),
        "revocation.check_us": rounded(median(checks), 2),
        # The check's own time over a request's: steadier than the throughput ratio on a
        # shared machine, where rounds of a few hundred requests vary by 10-30 %.
        "revocation.check_share_of_request": rounded(
            median(checks) / (1e6 / median(without_check)), 4
        ),
        "revocation.cache_reads_per_request": 1,
    }
    redis_us = _redis_get_us(500)
    if redis_us is None:
        results["revocation.redis"] = "no Redis at BENCH_REDIS_URL: one GET round trip not measured"
    else:
        results["revocation.redis_get_us"] = rounded(redis_us, 1)
    return results
