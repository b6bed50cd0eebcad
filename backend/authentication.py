"""JWT authentication that honours a pending two-factor setup and ended sign-ins."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from backend.revocation import RevocationUnavailable, access_token_revoked

# While two-factor setup is pending a token reaches only these.
OTP_SETUP_PREFIX = "/api/v1/auth/totp/"
OTP_SETUP_EXACT = frozenset({"/api/v1/auth/logout/", "/api/v1/me/"})


class SignInUncertain(exceptions.APIException):
    """A staff token while the revocation cache is down (backend/revocation.py). 503 with
    Retry-After, so clients keep the token and try again; a 401 would end the sign-in."""

    status_code = 503
    default_detail = "Sign-in cannot be checked right now. Try again shortly."
    default_code = "revocation_unavailable"
    wait = 5  # seconds: DRF's handler sends it as Retry-After


class JWTWithSecondFactorAuthentication(JWTAuthentication):
    def get_user(self, validated_token: Token) -> Any:
        """simplejwt's, with what settings.AUTH_USER_SELECT_RELATED names read in the same
        query (the relations every request of the app needs: one query, not one each)."""
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        users = self.user_model.objects.select_related(*settings.AUTH_USER_SELECT_RELATED)
        user = users.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
        if user is None:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(
                "The user's password has been changed.", code="password_changed"
            )
        return user

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        try:
            revoked = access_token_revoked(token.payload, user=user)
        except RevocationUnavailable:
            raise SignInUncertain() from None
        if revoked:
            raise exceptions.AuthenticationFailed(
                "This sign-in has ended. Sign in again.", code="token_revoked"
            )
        allowed = request.path in OTP_SETUP_EXACT or request.path.startswith(OTP_SETUP_PREFIX)
        if token.get("otp_pending") and not allowed:
            raise exceptions.AuthenticationFailed(
                "Set up two-factor sign-in first (auth/totp/setup/).", code="otp_setup_required"
            )
        return user, token
