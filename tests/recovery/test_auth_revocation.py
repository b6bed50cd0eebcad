"""Ending a sign-in ends its access tokens at once: after logout, after a reused refresh
token burnt its family, after the account is deactivated. One cache read per request."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from recovery.services.enrollment import patient_enroll

# Transactions as in production: revocation is a side effect after commit.
pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct-horse-battery-staple"


def _login(username: str) -> dict[str, str]:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return dict(response.json())


def _bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def _me(access: str) -> Any:
    return _bearer(access).get("/api/v1/me/")


def _logout(tokens: dict[str, str]) -> None:
    response = _bearer(tokens["access"]).post(
        "/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json"
    )
    assert response.status_code == 204


def test_an_access_token_stops_working_at_logout(counselor):
    tokens = _login(counselor.username)
    assert _me(tokens["access"]).status_code == 200
    _logout(tokens)
    refused = _me(tokens["access"])
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_revoked"


def test_logout_on_one_device_leaves_the_others_signed_in(counselor):
    phone = _login(counselor.username)
    laptop = _login(counselor.username)
    _logout(phone)
    assert _me(laptop["access"]).status_code == 200
    # And signing in again afterwards works at once.
    assert _me(_login(counselor.username)["access"]).status_code == 200


def test_a_patient_signed_in_with_an_enrollment_code_can_sign_out(counselor):
    _enrollment, code, _expires = patient_enroll(counselor=counselor, first_name="Sam")
    redeemed = APIClient().post("/api/v1/auth/enrollment-code/", {"code": code}, format="json")
    assert redeemed.status_code == 201
    tokens = redeemed.json()
    _logout(tokens)
    assert _me(tokens["access"]).status_code == 401


def test_a_reused_refresh_token_ends_the_familys_access_tokens(counselor):
    first = _login(counselor.username)
    rotated = (
        APIClient()
        .post("/api/v1/auth/token/refresh/", {"refresh": first["refresh"]}, format="json")
        .json()
    )
    assert _me(rotated["access"]).status_code == 200
    replay = APIClient().post(
        "/api/v1/auth/token/refresh/", {"refresh": first["refresh"]}, format="json"
    )
    assert replay.status_code == 401
    assert _me(first["access"]).status_code == 401
    assert _me(rotated["access"]).status_code == 401


def _refresh(raw: str) -> Any:
    return APIClient().post("/api/v1/auth/token/refresh/", {"refresh": raw}, format="json")


def _logout_with(access: str, refresh: str) -> Any:
    return _bearer(access).post("/api/v1/auth/logout/", {"refresh": refresh}, format="json")


def test_a_deactivated_account_is_signed_out_for_good(counselor):
    """While deactivated simplejwt refuses the user anyway; what revocation adds is that
    undoing the deactivation does not bring the old sign-in back."""
    tokens = _login(counselor.username)
    counselor.is_active = False
    counselor.save()
    counselor.is_active = True  # a mistake undone
    counselor.save()
    refused = _me(tokens["access"])
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_revoked"
    assert _refresh(tokens["refresh"]).status_code == 401
    # A new sign-in works at once.
    assert _me(_login(counselor.username)["access"]).status_code == 200


@pytest.mark.parametrize("stale", ["used", "garbage"])
def test_logout_with_a_stale_refresh_token_still_ends_the_sign_in(counselor, stale):
    """An app that lost a refresh answer still holds the used refresh token; one that
    kept a corrupted one holds garbage. Logging out must end the sign-in either way."""
    first = _login(counselor.username)
    rotated = _refresh(first["refresh"]).json()
    presented = first["refresh"] if stale == "used" else "not-a-token"
    assert _logout_with(rotated["access"], presented).status_code == 204
    assert _me(rotated["access"]).status_code == 401
    assert _refresh(rotated["refresh"]).status_code == 401


def test_logout_with_a_used_refresh_token_ends_its_whole_family(counselor):
    """A used refresh token shown at logout is a reuse, as at refresh: someone holds a
    copy, so its family ends even when the caller signed in elsewhere."""
    stolen = _login(counselor.username)
    rotated = _refresh(stolen["refresh"]).json()
    other = _login(counselor.username)
    assert _logout_with(other["access"], stolen["refresh"]).status_code == 204
    assert _me(rotated["access"]).status_code == 401
    assert _refresh(rotated["refresh"]).status_code == 401
    assert _me(other["access"]).status_code == 401


def test_a_token_without_a_family_ends_at_its_users_logout(counselor):
    """Tokens issued before sign-in families existed can be ended too."""
    tokens = _login(counselor.username)
    old = str(AccessToken.for_user(counselor))
    assert _me(old).status_code == 200
    response = _bearer(old).post(
        "/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json"
    )
    assert response.status_code == 204
    assert _me(old).status_code == 401


def test_an_authenticated_request_reads_the_cache_once(counselor):
    access = _login(counselor.username)["access"]
    calls: list[str] = []
    real_get, real_get_many = cache.get, cache.get_many

    def get(key: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(key)
        return real_get(key, *args, **kwargs)

    def get_many(keys: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(f"many:{list(keys)}")
        return real_get_many(keys, *args, **kwargs)

    with mock.patch.object(cache, "get", get), mock.patch.object(cache, "get_many", get_many):
        assert _me(access).status_code == 200
    assert len(calls) == 1, calls


def test_the_dashboards_socket_tokens_end_with_its_session(counselor, settings):
    from notifications.tokens import user_for_access_token

    browser = Client()
    browser.force_login(counselor)
    token = browser.post("/dashboard/token/").json()["token"]
    assert user_for_access_token(token) is not None
    assert browser.post("/dashboard/logout/").status_code == 302
    assert user_for_access_token(token) is None
    # Another session of the same person is not affected.
    other = Client()
    other.force_login(counselor)
    assert user_for_access_token(other.post("/dashboard/token/").json()["token"]) is not None


def _redeemed_patient_tokens(counselor: Any) -> dict[str, str]:
    _enrollment, code, _expires = patient_enroll(counselor=counselor, first_name="Sam")
    redeemed = APIClient().post("/api/v1/auth/enrollment-code/", {"code": code}, format="json")
    assert redeemed.status_code == 201
    return dict(redeemed.json())


def _cache_down() -> Any:
    return mock.patch.object(cache, "get", side_effect=ConnectionError("redis down"))


def test_a_cache_outage_does_not_lock_patients_out(counselor):
    """The crisis path must work during a Redis outage: patients' tokens fail open."""
    from notifications.tokens import user_for_access_token

    access = _redeemed_patient_tokens(counselor)["access"]
    with _cache_down():
        assert _me(access).status_code == 200
        assert user_for_access_token(access) is not None


def test_a_cache_outage_lets_staff_work_by_default(counselor):
    """Staff schedule sessions and answer flags from the database alone: by default a
    Redis outage does not stop them either."""
    access = _login(counselor.username)["access"]
    with _cache_down():
        assert _me(access).status_code == 200


def test_a_cache_outage_refuses_the_roles_told_to_fail_closed(counselor, settings):
    """A deployment can refuse staff tokens while revocation cannot be checked (a
    logged-out or stolen staff token reaches a whole program), with a status that makes
    the client retry."""
    from notifications.tokens import user_for_access_token

    settings.REVOCATION_FAIL_CLOSED_ROLES = frozenset({"counselor", "supervisor"})

    access = _login(counselor.username)["access"]
    with _cache_down():
        refused = _me(access)
        assert user_for_access_token(access) is None
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "revocation_unavailable"
    assert int(refused["Retry-After"]) > 0
    assert _me(access).status_code == 200  # the cache is back: the sign-in goes on
