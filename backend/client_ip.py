"""The client's address: one rule for the sign-in throttles, django-axes and the audit trail.

Set by TRUSTED_PROXY_COUNT, the number of reverse proxies in front of the server that each
append the address they saw to X-Forwarded-For. 0 (the default): the header is ignored and
the address is the TCP peer's (REMOTE_ADDR). n: the n-th entry from the right, the one the
outermost trusted proxy wrote; whatever a client put to the left of it is never read.
DRF's throttles apply the same rule (REST_FRAMEWORK["NUM_PROXIES"] is this setting), and
uvicorn's own header handling is off wherever we start it (--no-proxy-headers), so nothing
rewrites REMOTE_ADDR before this rule sees it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from rest_framework.throttling import BaseThrottle


def client_ip(request: Any) -> str | None:
    """The address DRF's throttles key on, if it is an address; else the TCP peer's."""
    ident = BaseThrottle().get_ident(request)
    try:
        ipaddress.ip_address(ident)
    except ValueError:
        # Only a proxy count larger than the real one reaches here: fall back to the peer.
        remote: str | None = request.META.get("REMOTE_ADDR") or None
        return remote
    return str(ident)
