"""Tokens for sign-in: families of rotating refresh tokens, revoked together on reuse.

Each sign-in starts a family (the `fam` claim). Refreshing rotates the refresh token and
blacklists the old one; the new token carries the same family. If a blacklisted refresh
token is presented again, someone holds a copy: every token of that family is revoked.

Revoking a family also refuses its access tokens at once (backend/revocation.py), and
closes the user's open sockets; both happen after the transaction commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import jwt
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from backend.revocation import FAMILY_CLAIM, revoke_families, revoke_unfamilied
from notifications.realtime import close_user_sockets
from recovery.models import User

OTP_PENDING_CLAIM = "otp_pending"


def new_family() -> str:
    return uuid.uuid4().hex


def tokens_issue(*, user: User, otp_pending: bool = False) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    refresh[FAMILY_CLAIM] = new_family()
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


def _end_sign_ins(*, user_id: int, families: Iterable[str | None]) -> None:
    """After commit: refuse the access tokens of these families (None: the user's tokens
    without a family) and close the user's sockets."""
    wanted = set(families)

    def effects() -> None:
        revoke_families(family for family in wanted if family)
        if None in wanted:
            revoke_unfamilied(user_id)
        close_user_sockets(user_id)

    transaction.on_commit(effects)


def _blacklist_outstanding(
    *, user_id: int, families: Collection[str | None] | None
) -> list[str | None]:
    """Blacklist the user's live refresh tokens of these families (None in it: those
    without a family; `families` None: of every family); returns the family of each."""
    revoked: list[str | None] = []
    outstanding = OutstandingToken.objects.filter(
        user_id=user_id, blacklistedtoken__isnull=True, expires_at__gt=timezone.now()
    )
    for token in outstanding:
        token_family = _unverified_claims(token.token).get(FAMILY_CLAIM)
        if families is None or token_family in families:
            BlacklistedToken.objects.get_or_create(token=token)
            revoked.append(token_family)
    return revoked


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
    owner = int(user_id)
    families = _blacklist_outstanding(user_id=owner, families={family})
    _end_sign_ins(user_id=owner, families={family, *families})
    return len(families)  # tokens revoked


def tokens_logout(
    *, user_id: int, raw_refresh: str, access_claims: Mapping[str, Any] | None
) -> None:
    """End this sign-in, whatever refresh token came with the request: the family of the
    access token that asked ends (its refresh tokens blacklisted, its access tokens
    refused), and so does the refresh token's family if that token is a live one of this
    user. A refresh token already used is a reuse, as at refresh: its whole family ends.
    An expired, forged or foreign refresh token changes nothing more: a client holding a
    stale one must still be able to sign out."""
    families: set[str | None] = set()
    if access_claims is not None:
        families.add(access_claims.get(FAMILY_CLAIM))
    try:
        token = RefreshToken(raw_refresh)  # type: ignore[arg-type]
    except TokenError:
        refresh_reuse_revoke_family(raw_refresh=raw_refresh)
    else:
        if str(token.get("user_id")) == str(user_id):
            token.blacklist()
            families.add(token.get(FAMILY_CLAIM))
    if not families:
        return  # a session sign-in with no valid refresh token: nothing of JWT to end
    _blacklist_outstanding(user_id=user_id, families=families)
    _end_sign_ins(user_id=user_id, families=families)


def tokens_revoke_user(*, user_id: int) -> None:
    """Every sign-in of this user ends (deactivation): refresh tokens blacklisted, access
    tokens refused, sockets closed."""
    families = _blacklist_outstanding(user_id=user_id, families=None)
    _end_sign_ins(user_id=user_id, families={None, *families})


def tokens_revoke_family(*, user_id: int, family: str | None) -> None:
    """A sign-in without refresh tokens ended (a dashboard session and the socket tokens
    it issued, all of one family): its tokens are refused, the user's sockets close."""
    _end_sign_ins(user_id=user_id, families={family} if family else set())
