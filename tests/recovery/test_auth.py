"""Sign-in hardening: lockout, two-factor for staff, refresh-token reuse, logout."""

from __future__ import annotations

from unittest import mock

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from tests.factories import CounselorFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-staple"


def _login(username: str, password: str = PASSWORD, **extra):
    return APIClient().post(
        "/api/v1/auth/token/",
        {"username": username, "password": password, **extra},
        format="json",
        REMOTE_ADDR="10.0.0.7",
    )


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _refresh(token: str):
    return APIClient().post("/api/v1/auth/token/refresh/", {"refresh": token}, format="json")


def test_repeated_failures_lock_the_account_for_a_while(counselor, settings, time_machine):
    # ScopedRateThrottle copies the rates at import: a settings override would miss them.
    rates = {**ScopedRateThrottle.THROTTLE_RATES, "login": "1000/min"}
    with mock.patch.object(ScopedRateThrottle, "THROTTLE_RATES", rates):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert _login(counselor.username, "wrong-password").status_code == 401
        locked = _login(counselor.username, "wrong-password")
        assert locked.status_code == 429
        assert locked.json()["error"]["code"] == "locked_out"
        # Even the right password is refused while locked out.
        assert _login(counselor.username).status_code == 429
        time_machine.move_to(timezone.now() + settings.AXES_COOLOFF_TIME)
        assert _login(counselor.username).status_code == 200


def test_the_login_endpoint_is_throttled_per_address(counselor):
    statuses = [_login(counselor.username, "nope").status_code for _ in range(12)]
    assert 429 in statuses


def test_refresh_rotates_and_a_reused_token_revokes_its_family(counselor):
    first = _login(counselor.username).json()
    rotated = _refresh(first["refresh"])
    assert rotated.status_code == 200
    second = rotated.json()["refresh"]
    assert second != first["refresh"]

    stolen_replay = _refresh(first["refresh"])
    assert stolen_replay.status_code == 401
    # The legitimate holder's newer token is revoked too: the family is burnt.
    assert _refresh(second).status_code == 401


def test_another_sign_in_is_a_separate_family(counselor):
    phone = _login(counselor.username).json()
    laptop = _login(counselor.username).json()
    _refresh(phone["refresh"])
    _refresh(phone["refresh"])  # reuse on the phone
    assert _refresh(laptop["refresh"]).status_code == 200


def test_staff_of_a_program_requiring_two_factor_must_set_it_up(counselor, time_machine):
    counselor.program.require_staff_2fa = True
    counselor.program.save()
    pending = _login(counselor.username).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pending['access']}")
    refused = client.get("/api/v1/dashboard/caseload/")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "otp_setup_required"

    assert client.post("/api/v1/auth/totp/setup/").json()["otpauth_url"].startswith("otpauth://")
    device = TOTPDevice.objects.get(user=counselor)
    wrong = "000000" if _code(device) != "000000" else "111111"
    bad = client.post("/api/v1/auth/totp/confirm/", {"otp": wrong}, format="json")
    assert bad.status_code == 400
    time_machine.move_to(timezone.now() + timezone.timedelta(seconds=5))  # django-otp backs off
    full = client.post("/api/v1/auth/totp/confirm/", {"otp": _code(device)}, format="json")
    assert full.status_code == 200

    time_machine.move_to(timezone.now() + timezone.timedelta(seconds=31))  # a fresh code
    without_code = _login(counselor.username)
    assert without_code.status_code == 401
    assert without_code.json()["error"]["code"] == "otp_required"
    device.refresh_from_db()
    with_code = _login(counselor.username, otp=_code(device))
    assert with_code.status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {with_code.json()['access']}")
    assert client.get("/api/v1/dashboard/caseload/").status_code == 200


def test_two_factor_is_a_program_choice(program):
    other = CounselorFactory()
    program.require_staff_2fa = True
    program.save()
    tokens = _login(other.username).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get("/api/v1/dashboard/caseload/").status_code == 200


def test_confirming_an_authenticator_is_throttled(counselor, settings):
    """A code guesser cannot start a fresh setup (and a fresh back-off) and guess again."""
    counselor.program.require_staff_2fa = True
    counselor.program.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {_login(counselor.username).json()['access']}")
    statuses = []
    for _ in range(6):
        client.post("/api/v1/auth/totp/setup/")
        statuses.append(
            client.post("/api/v1/auth/totp/confirm/", {"otp": "000000"}, format="json").status_code
        )
    assert statuses[-1] == 429, statuses
