from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from backend.revocation import RevocationUnavailable, access_token_revoked


def user_for_access_token(raw: str) -> tuple[Any, float] | None:
    """The active user a valid, unrevoked access token names, and when it expires."""
    if not raw or len(raw) > 4096:
        return None
    try:
        token = AccessToken(raw)  # type: ignore[arg-type]
    except TokenError:
        return None
    if token.get("otp_pending"):
        return None  # two-factor setup first: such a token reaches only auth/totp/
    user = get_user_model().objects.filter(id=token.get("user_id"), is_active=True).first()
    if user is None:
        return None
    try:
        if access_token_revoked(token.payload, user=user):
            return None  # logged out, family revoked on reuse, or user deactivated
    except RevocationUnavailable:
        return None  # staff, and the cache cannot say whether the sign-in ended
    return user, float(token["exp"])
