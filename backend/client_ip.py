"""The client's address: one rule for every throttle, django-axes and the audit trail.

Set by TRUSTED_PROXY_COUNT, the number of reverse proxies in front of the server that each
append the address they saw to X-Forwarded-For. 0 (the default): the header is ignored and
the address is the TCP peer's (REMOTE_ADDR). n: the n-th entry from the right, the one the
outermost trusted proxy wrote; whatever a client put to the left of it is never read.
An entry that is not an address (only a count higher than the real number of proxies
reaches a client-written entry) falls back to REMOTE_ADDR.

Every throttle keys on this (backend/throttling.py), axes too (AXES_CLIENT_IP_CALLABLE),
and uvicorn's own header handling is off wherever we start it (--no-proxy-headers), so
nothing rewrites REMOTE_ADDR before this rule sees it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings


def client_ip(request: Any) -> str | None:
    """The address of the client, by TRUSTED_PROXY_COUNT; else the TCP peer's."""
    remote: str | None = request.META.get("REMOTE_ADDR") or None
    count = int(settings.TRUSTED_PROXY_COUNT)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if count == 0 or not forwarded:
        return remote
    entries = str(forwarded).split(",")
    candidate = entries[-min(count, len(entries))].strip()
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
