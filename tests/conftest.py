from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from notifications.push import memory
from tests.factories import CounselorFactory, EnrollmentFactory, ProgramFactory, SupervisorFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Django's advice for test suites: PBKDF2 costs ~0.2 s per user created.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
