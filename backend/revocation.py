"""Revoked sign-ins: an access token stops working the moment its sign-in ends.

Access tokens are checked by signature and expiry alone, so without this a token would
keep working for the rest of its lifetime (ACCESS_TOKEN_MINUTES) after a logout, a reused
refresh token or a deactivation. Ending a sign-in writes one cache key; every API request
and every websocket connect reads exactly one (Django's cache: Redis with REDIS_URL, so
every web process sees it; local memory on the embedded default, which is one process).

The key is the token's family (the `fam` claim every sign-in starts, which refreshed and
access tokens carry on). A token without a family (issued before families existed)
is checked against its user's key instead: revoked if issued at or before that moment.
Keys live as long as an access token can, then expire with the tokens they refuse.

When the cache cannot answer, whether a sign-in ended is unknown. By default every token
is let through, logged (a Redis outage must not lock a patient out of the crisis path,
nor stop staff scheduling and answering flags, which the database alone serves; the
token still expires on time). A deployment that prefers to refuse some roles until the
cache answers again names them in REVOCATION_FAIL_CLOSED_ROLES (for example counselor
and supervisor: a logged-out or stolen staff token reaches a whole program); those are
refused with RevocationUnavailable. The API answers that with 503 and
Retry-After (backend/authentication.py), not 401: the sign-in is not known to be over,
so a client keeps its tokens and retries, rather than sending its user to a sign-in
that would meet the same outage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework_simplejwt.settings import api_settings

logger = logging.getLogger(__name__)

FAMILY_CLAIM = "fam"
# Clock skew between the web processes that write and read the keys.
MARGIN_SECONDS = 60


def _family_key(family: str) -> str:
    return f"revoked:family:{family}"


def _user_key(user_id: Any) -> str:
    return f"revoked:user:{user_id}"


def _ttl() -> int:
    return int(api_settings.ACCESS_TOKEN_LIFETIME.total_seconds()) + MARGIN_SECONDS


def revoke_families(families: Iterable[str]) -> None:
    """From now on refuse every access token of these families."""
    keys = {_family_key(family): 1 for family in families if family}
    if keys:
        _write(lambda: cache.set_many(keys, timeout=_ttl()))


def revoke_unfamilied(user_id: int) -> None:
    """From now on refuse this user's access tokens that carry no family, issued so far."""
    _write(lambda: cache.set(_user_key(user_id), int(time.time()), timeout=_ttl()))


def _write(operation: Callable[[], object]) -> None:
    # The refresh tokens are blacklisted in the database already; a cache that is down
    # only lets the access tokens live out their (short) lifetime.
    try:
        operation()
    except Exception as exc:
        logger.warning("revocation not cached, cache unavailable: %s", type(exc).__name__)


class RevocationUnavailable(Exception):
    """The cache could not say whether this (non-patient) sign-in has ended."""


def _fails_open(user: Any) -> bool:
    # The roles are the project's to name (settings), not this bottom layer's.
    return getattr(user, "role", None) not in settings.REVOCATION_FAIL_CLOSED_ROLES


def access_token_revoked(claims: Mapping[str, Any], *, user: Any) -> bool:
    """Whether the sign-in of a valid access token of `user` has ended. One cache read.

    A cache that cannot answer lets the token through, unless its user's role is one of
    REVOCATION_FAIL_CLOSED_ROLES: then RevocationUnavailable (see the module's docstring)."""
    family = claims.get(FAMILY_CLAIM)
    key = _family_key(str(family)) if family else _user_key(claims.get(api_settings.USER_ID_CLAIM))
    try:
        value = cache.get(key)
    except Exception as exc:
        if _fails_open(user):
            logger.warning("revocation check skipped, cache unavailable: %s", type(exc).__name__)
            return False
        logger.warning("staff token refused, cache unavailable: %s", type(exc).__name__)
        raise RevocationUnavailable from exc
    if family:
        return value is not None
    revoked_at = value
    # Whole seconds on both sides: a token from the same second is refused too.
    return revoked_at is not None and int(claims.get("iat", 0)) <= int(revoked_at)
