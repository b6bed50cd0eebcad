"""JWT authentication that honours a pending two-factor setup."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication

# While two-factor setup is pending a token reaches only these.
OTP_SETUP_PREFIX = "/api/v1/auth/totp/"
OTP_SETUP_EXACT = frozenset({"/api/v1/auth/logout/", "/api/v1/me/"})


class JWTWithSecondFactorAuthentication(JWTAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        allowed = request.path in OTP_SETUP_EXACT or request.path.startswith(OTP_SETUP_PREFIX)
        if token.get("otp_pending") and not allowed:
            raise exceptions.AuthenticationFailed(
                "Set up two-factor sign-in first (auth/totp/setup/).", code="otp_setup_required"
            )
        return user, token
