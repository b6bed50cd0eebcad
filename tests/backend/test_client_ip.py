"""The client's address comes from one setting (TRUSTED_PROXY_COUNT), the same for the
sign-in throttles, django-axes lockouts and the audit trail: a client that writes its own
X-Forwarded-For is still the address it connects from."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from axes.helpers import get_client_ip_address
from django.conf import settings as django_settings
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from backend.client_ip import client_ip
from backend.throttling import ClientIpThrottleMixin
from backend.throttling import ScopedRateThrottle as ProjectScopedRateThrottle
from recovery.models import AuditEntry
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-staple"
PROXY = "10.9.9.9"


@pytest.fixture(autouse=True)
def _rates() -> Any:
    # ScopedRateThrottle copies the rates when DRF is imported: settings overrides miss them.
    rates = {"login": "5/min", "enrollment_code": "5/min"}
    with mock.patch.object(ScopedRateThrottle, "THROTTLE_RATES", rates):
        yield


def _proxies(settings: Any, count: int) -> None:
    settings.TRUSTED_PROXY_COUNT = count
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}


def _post(path: str, body: dict[str, str], n: int) -> Any:
    return APIClient().post(
        path, body, format="json", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"
    )


def test_the_default_trusts_no_proxy() -> None:
    assert django_settings.TRUSTED_PROXY_COUNT == 0
    assert django_settings.REST_FRAMEWORK["NUM_PROXIES"] == 0


def test_a_rotating_forwarded_for_does_not_escape_the_sign_in_throttle():
    """Password spraying: one guess per username, a new forwarded address each time."""
    statuses = [
        _post("/api/v1/auth/token/", {"username": f"staff-{n}", "password": "no"}, n).status_code
        for n in range(8)
    ]
    assert statuses[-1] == 429, statuses


def test_a_rotating_forwarded_for_does_not_escape_the_enrollment_code_throttle():
    statuses = [
        _post("/api/v1/auth/enrollment-code/", {"code": f"WRONG-{n:04d}"}, n).status_code
        for n in range(8)
    ]
    assert statuses[-1] == 429, statuses


def test_a_rotating_forwarded_for_does_not_escape_the_lockout(counselor, settings):
    body = {"username": counselor.username, "password": "wrong-password"}
    statuses = [
        _post("/api/v1/auth/token/", body, n).status_code
        for n in range(settings.AXES_FAILURE_LIMIT + 1)
    ]
    assert statuses[-1] == 429, statuses
    right = _post("/api/v1/auth/token/", {**body, "password": PASSWORD}, 99)
    assert right.status_code == 429


def test_behind_one_proxy_the_entry_it_appended_is_the_client(counselor, settings):
    """What a client writes to the left of the proxy's entry is never read."""
    _proxies(settings, 1)
    statuses = []
    for n in range(8):
        response = APIClient().post(
            "/api/v1/auth/token/",
            {"username": f"staff-{n}", "password": "no"},
            format="json",
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.7",
        )
        statuses.append(response.status_code)
    assert statuses[-1] == 429, statuses
    # Another client behind the same proxy is not throttled with the first.
    other = APIClient().post(
        "/api/v1/auth/token/",
        {"username": counselor.username, "password": "no"},
        format="json",
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="203.0.113.8",
    )
    assert other.status_code == 401


def test_the_audit_trail_records_the_same_address(counselor, enrollment, settings):
    response = client_for(counselor).get(
        f"/api/v1/patients/{enrollment.id}/",
        REMOTE_ADDR="10.1.2.3",
        HTTP_X_FORWARDED_FOR="198.51.100.1",
    )
    assert response.status_code == 200
    assert AuditEntry.objects.get().ip_address == "10.1.2.3"


def test_too_high_a_proxy_count_never_records_garbage(counselor, enrollment, settings):
    _proxies(settings, 2)
    response = client_for(counselor).get(
        f"/api/v1/patients/{enrollment.id}/",
        REMOTE_ADDR="10.1.2.3",
        HTTP_X_FORWARDED_FOR="not-an-address, 203.0.113.7",
    )
    assert response.status_code == 200
    assert AuditEntry.objects.get().ip_address == "10.1.2.3"


def test_serve_keeps_uvicorn_from_rewriting_the_address(settings: Any) -> None:
    from django.core.management import call_command

    # No in-process scheduler: its thread would run the real jobs against the test database.
    settings.SCHEDULER_MODE = "celery"
    with mock.patch("uvicorn.run") as run:
        call_command("serve")
    assert run.call_args.kwargs["proxy_headers"] is False


def _api_views(patterns: list[Any]) -> list[type[APIView]]:
    views: list[type[APIView]] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            views += _api_views(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "cls", None)
            if isinstance(view, type) and issubclass(view, APIView):
                views.append(view)
    return views


def test_every_throttle_keys_on_the_one_client_address() -> None:
    """A throttle that asks DRF's own rule would key on a string the client writes."""
    throttles = {*api_settings.DEFAULT_THROTTLE_CLASSES}
    views = _api_views(get_resolver().url_patterns)
    assert views
    for view in views:
        throttles.update(view.throttle_classes)
    assert throttles
    odd = {t.__name__ for t in throttles if not issubclass(t, ClientIpThrottleMixin)}
    assert odd == set()


def test_too_high_a_proxy_count_does_not_let_a_client_escape_the_throttle(settings):
    """Two proxies trusted, one in front: the entry read is the client's own, and not an
    address; the throttle then counts the peer, as the lockout does."""
    _proxies(settings, 2)
    statuses = []
    for n in range(8):
        response = APIClient().post(
            "/api/v1/auth/token/",
            {"username": f"staff-{n}", "password": "no"},
            format="json",
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=f"client-{n}",
        )
        statuses.append(response.status_code)
    assert statuses[-1] == 429, statuses


@pytest.mark.parametrize("count", [0, 1, 2, 3])
@pytest.mark.parametrize(
    "forwarded",
    [None, "", "198.51.100.1", "not-an-address", "198.51.100.1, 203.0.113.7", " , 203.0.113.7"],
)
def test_throttles_and_lockouts_count_the_same_address(settings, count, forwarded):
    _proxies(settings, count)
    meta = {"REMOTE_ADDR": PROXY}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().post("/api/v1/auth/token/", **meta)
    ident = ProjectScopedRateThrottle().get_ident(request)
    assert ident == get_client_ip_address(request) == client_ip(request)
    assert ident  # always an address: the peer's at worst
