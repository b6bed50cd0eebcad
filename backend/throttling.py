"""The project's throttles: DRF's, keyed on the one client address (backend/client_ip.py).

DRF's own get_ident reads X-Forwarded-For by NUM_PROXIES and keys on whatever string it
finds there; with a proxy count higher than the real one that string is the client's
choice, while django-axes falls back to REMOTE_ADDR. Keying every throttle on client_ip()
makes rate limits and lockouts count the same address. REST_FRAMEWORK's
DEFAULT_THROTTLE_CLASSES names these; a view only sets its `throttle_scope`.
"""

from __future__ import annotations

from typing import Any

from rest_framework import throttling

from backend.client_ip import client_ip


class ClientIpThrottleMixin:
    """Keys an anonymous caller on client_ip(), as axes and the audit trail do."""

    def get_ident(self, request: Any) -> str:
        return client_ip(request) or ""


class ScopedRateThrottle(ClientIpThrottleMixin, throttling.ScopedRateThrottle):
    """Per view `throttle_scope`; a view without one is not throttled (no cache read)."""


class AnonRateThrottle(ClientIpThrottleMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientIpThrottleMixin, throttling.UserRateThrottle):
    pass
