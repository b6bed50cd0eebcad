"""Every 401 says why, with a stable code the app acts on: token_expired (refresh and
retry), token_invalid and token_revoked (sign in again), not_authenticated (send one)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.factories import PatientUserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"


def _me(authorization: str | None) -> tuple[int, str]:
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    response = client.get("/api/v1/me/")
    return response.status_code, response.json()["error"]["code"]


def _refresh(raw: str) -> tuple[int, str]:
    response = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": raw}, format="json")
    return response.status_code, response.json().get("error", {}).get("code", "")


def test_no_token_is_not_authenticated() -> None:
    assert _me(None) == (401, "not_authenticated")


def test_a_garbled_token_is_invalid() -> None:
    assert _me("Bearer not-a-jwt") == (401, "token_invalid")


def test_an_expired_access_token_says_expired() -> None:
    token = AccessToken.for_user(PatientUserFactory())
    token.set_exp(lifetime=timedelta(seconds=-1))
    assert _me(f"Bearer {token}") == (401, "token_expired")


def test_a_token_of_a_deleted_user_is_invalid() -> None:
    user = PatientUserFactory()
    token = AccessToken.for_user(user)
    user.delete()
    assert _me(f"Bearer {token}") == (401, "token_invalid")


@pytest.mark.django_db(transaction=True)  # revocation happens after the commit
def test_a_signed_out_token_is_revoked() -> None:
    user = PatientUserFactory()
    tokens = APIClient().post(
        "/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}, format="json"
    )
    access, refresh = tokens.json()["access"], tokens.json()["refresh"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert (
        client.post("/api/v1/auth/logout/", {"refresh": refresh}, format="json").status_code == 204
    )
    assert _me(f"Bearer {access}") == (401, "token_revoked")


def test_refresh_says_expired_invalid_or_revoked() -> None:
    user = PatientUserFactory()
    expired = RefreshToken.for_user(user)
    expired.set_exp(lifetime=timedelta(seconds=-1))
    assert _refresh(str(expired)) == (401, "token_expired")
    assert _refresh("not-a-jwt") == (401, "token_invalid")
    live = str(RefreshToken.for_user(user))
    assert _refresh(live)[0] == 200
    assert _refresh(live) == (401, "token_revoked")  # a reuse ends the family
