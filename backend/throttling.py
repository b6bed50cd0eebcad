"""The project's throttles: DRF's, keyed on the one client address (backend/client_ip.py).

DRF's own get_ident reads X-Forwarded-For by NUM_PROXIES and keys on whatever string it
finds there; with a proxy count higher than the real one that string is the client's
choice, while django-axes falls back to REMOTE_ADDR. Keying every throttle on client_ip()
makes rate limits and lockouts count the same address. REST_FRAMEWORK's
DEFAULT_THROTTLE_CLASSES names these; a view only sets its `throttle_scope`.
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework import throttling

from backend.client_ip import client_ip

logger = logging.getLogger(__name__)


class ClientIpThrottleMixin:
    """Keys an anonymous caller on client_ip(), as axes and the audit trail do. A cache
    that cannot answer (Redis down) lets the request through, logged: sign-in failures
    are still counted and locked out by django-axes, which keeps them in the database."""

    def get_ident(self, request: Any) -> str:
        return client_ip(request) or ""

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            allowed: bool = super().allow_request(request, view)  # type: ignore[misc]
        except Exception as exc:
            logger.warning("throttle skipped, cache unavailable: %s", type(exc).__name__)
            return True
        return allowed


class ScopedRateThrottle(ClientIpThrottleMixin, throttling.ScopedRateThrottle):
    """Per view `throttle_scope`; a view without one is not throttled (no cache read)."""


class AnonRateThrottle(ClientIpThrottleMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientIpThrottleMixin, throttling.UserRateThrottle):
    pass
