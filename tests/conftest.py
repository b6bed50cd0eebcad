from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from notifications.push import memory
from tests.factories import CounselorFactory, EnrollmentFactory, ProgramFactory, SupervisorFactory


def _test_now() -> datetime | None:
    """IOP_TEST_NOW=2026-11-01T03:30:00Z starts the test run at that instant (the clock ticks).

    The suite must pass at any hour: run it where the UTC date is not the local date, or on
    a daylight-saving night, to prove nothing takes "today" from the wrong zone.
    """
    raw = os.environ.get("IOP_TEST_NOW", "").strip()
    if not raw:
        return None
    instant = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise pytest.UsageError(f"IOP_TEST_NOW needs an offset or Z: {raw!r}")
    return instant.astimezone(UTC)


TEST_NOW = _test_now()
_run_clock: time_machine.travel | None = None


def pytest_configure(config: pytest.Config) -> None:
    # The whole run, collection included, starts at TEST_NOW and the clock then runs, as
    # if `pytest` had been typed at that instant. Tests that travel themselves (the
    # time_machine fixture, time_machine.travel) nest inside and come back to it.
    global _run_clock
    if TEST_NOW is not None and _run_clock is None:
        _run_clock = time_machine.travel(TEST_NOW, tick=True)
        _run_clock.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    global _run_clock
    if _run_clock is not None:
        _run_clock.stop()
        _run_clock = None


def pytest_report_header() -> str | None:
    return f"IOP_TEST_NOW: the run starts at {TEST_NOW.isoformat()}" if TEST_NOW else None


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Django's advice for test suites: PBKDF2 costs ~0.2 s per user created.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _app_heard_from_written_at_once(settings: Any) -> None:
    # A test's rows live in its own transaction, which the delayed writer's thread cannot
    # see; tests of the delayed write (test_presence_delayed.py) flush by hand.
    settings.APP_HEARD_WRITE_DELAY_SECONDS = 0


@pytest.fixture(autouse=True)
def _clean_push_outbox() -> Iterator[None]:
    memory.outbox.clear()
    yield
    memory.outbox.clear()


@pytest.fixture(autouse=True)
def _no_throttle_cache_leak() -> Iterator[None]:
    from django.core.cache import cache

    cache.clear()
    return


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def program() -> Any:
    return ProgramFactory()


@pytest.fixture
def counselor(program: Any) -> Any:
    return CounselorFactory(program=program)


@pytest.fixture
def supervisor(program: Any) -> Any:
    return SupervisorFactory(program=program)


@pytest.fixture
def enrollment(program: Any, counselor: Any) -> Any:
    return EnrollmentFactory(program=program, primary_counselor=counselor)


@pytest.fixture
def patient_client(enrollment: Any) -> APIClient:
    return client_for(enrollment.patient)


@pytest.fixture
def counselor_client(counselor: Any) -> APIClient:
    return client_for(counselor)
