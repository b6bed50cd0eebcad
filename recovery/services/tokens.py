"""Tokens for sign-in: families of rotating refresh tokens, revoked together on reuse.

Each sign-in starts a family (the `fam` claim). Refreshing rotates the refresh token and
blacklists the old one; the new token carries the same family. If a blacklisted refresh
token is presented again, someone holds a copy: every token of that family is revoked.
"""

from __future__ import annotations

import uuid
from typing import Any

import jwt
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from notifications.realtime import close_user_sockets
from recovery.models import User

FAMILY_CLAIM = "fam"
OTP_PENDING_CLAIM = "otp_pending"


def tokens_issue(*, user: User, otp_pending: bool = False) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    refresh[FAMILY_CLAIM] = uuid.uuid4().hex
    if otp_pending:
        refresh[OTP_PENDING_CLAIM] = True
    # for_user() recorded the token before the family claim existed; record the final one.
    OutstandingToken.objects.filter(jti=refresh["jti"]).update(token=str(refresh))
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def _unverified_claims(raw: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(raw, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims


def refresh_reuse_revoke_family(*, raw_refresh: str) -> int:
    """Called when a refresh was refused. If it was refused for having been used before,
    revoke its whole family and close the user's sockets. Returns tokens revoked."""
    claims = _unverified_claims(raw_refresh)
    jti, family, user_id = claims.get("jti"), claims.get(FAMILY_CLAIM), claims.get("user_id")
    if not jti or user_id is None or not BlacklistedToken.objects.filter(token__jti=jti).exists():
        return 0  # not a reuse: expired, forged or unknown
    # Only a token we signed may revoke anything (its expiry no longer matters).
    try:
        jwt.decode(
            raw_refresh,
            api_settings.SIGNING_KEY,
            algorithms=[api_settings.ALGORITHM],
            options={"verify_exp": False, "verify_aud": False},
        )
    except jwt.PyJWTError:
        return 0
    revoked = 0
    owner = int(user_id)
    outstanding = OutstandingToken.objects.filter(user_id=owner, blacklistedtoken__isnull=True)
    for token in outstanding:
        if family is None or _unverified_claims(token.token).get(FAMILY_CLAIM) == family:
            BlacklistedToken.objects.get_or_create(token=token)
            revoked += 1
    close_user_sockets(owner)
    return revoked
