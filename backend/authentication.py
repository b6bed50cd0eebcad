"""JWT authentication that honours a pending two-factor setup and ended sign-ins."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import translation
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
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


# Why a request was not authenticated, as the `code` of its 401 (the client's next step):
# token_expired: refresh and retry; token_invalid, token_revoked: sign in again;
# not_authenticated (DRF's own, no token sent): send one.
TOKEN_EXPIRED = "token_expired"  # noqa: S105 - error codes, not secrets
TOKEN_INVALID = "token_invalid"  # noqa: S105
TOKEN_REVOKED = "token_revoked"  # noqa: S105


def token_expired() -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed(
        "The token expired: refresh it and retry.", code=TOKEN_EXPIRED
    )


def token_invalid() -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed("This token is not valid. Sign in again.", TOKEN_INVALID)


def token_revoked() -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed("This sign-in has ended. Sign in again.", TOKEN_REVOKED)


def profile_language(user: Any) -> str | None:
    """The user's own language (settings.AUTH_USER_LANGUAGE), if they have one this API
    speaks; None leaves the choice to Accept-Language."""
    value: Any = user
    for name in settings.AUTH_USER_LANGUAGE.split("."):
        # A missing one-to-one raises an AttributeError: None, and no query once selected.
        value = getattr(value, name, None)
    return value if value in dict(settings.LANGUAGES) else None


def token_refused(error: TokenError) -> exceptions.AuthenticationFailed:
    """The 401 for a token simplejwt refused: expired, or not valid at all."""
    return token_expired() if isinstance(error, ExpiredTokenError) else token_invalid()


class JWTWithSecondFactorAuthentication(JWTAuthentication):
    def get_validated_token(self, raw_token: bytes) -> Token:
        refusals: list[TokenError] = []
        for token_class in api_settings.AUTH_TOKEN_CLASSES:
            try:
                return token_class(raw_token)
            except TokenError as error:
                refusals.append(error)
        expired = [e for e in refusals if isinstance(e, ExpiredTokenError)]
        raise token_refused(expired[0] if expired else TokenError())

    def get_user(self, validated_token: Token) -> Any:
        """simplejwt's, with what settings.AUTH_USER_SELECT_RELATED names read in the same
        query (the relations every request of the app needs: one query, not one each), and
        its refusals as this API's 401 codes: a user gone or a password changed is an
        invalid token, a deactivated one a sign-in that ended."""
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError:
            raise token_invalid() from None
        users = self.user_model.objects.select_related(*settings.AUTH_USER_SELECT_RELATED)
        user = users.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
        if user is None:
            raise token_invalid()
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise token_revoked()
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise token_invalid()
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
            raise token_revoked()
        allowed = request.path in OTP_SETUP_EXACT or request.path.startswith(OTP_SETUP_PREFIX)
        if token.get("otp_pending") and not allowed:
            raise exceptions.AuthenticationFailed(
                "Set up two-factor sign-in first (auth/totp/setup/).", code="otp_setup_required"
            )
        language = profile_language(user)
        if language is not None:
            # Over LocaleMiddleware's Accept-Language choice; it activates anew every request.
            translation.activate(language)
        return user, token
