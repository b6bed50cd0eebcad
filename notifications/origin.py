"""The websocket Origin policy.

Browsers always send Origin; a page on another site must not open a socket to us, so a
browser's Origin must match ALLOWED_HOSTS (or CSRF_TRUSTED_ORIGINS). Native apps send no
Origin at all; Channels' AllowedHostsOriginValidator refuses them, which would lock out
every phone. Authentication is a bearer token the page must hold, not a cookie, so a
missing Origin carries no cross-site risk and is allowed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from channels.security.websocket import AllowedHostsOriginValidator, OriginValidator
from django.conf import settings


class NativeOrAllowedOriginValidator(OriginValidator):
    def __init__(self, application: Any) -> None:
        allowed = list(settings.ALLOWED_HOSTS)
        allowed += [urlparse(o).netloc or o for o in settings.CSRF_TRUSTED_ORIGINS]
        super().__init__(application, allowed)
        self._browser_policy = AllowedHostsOriginValidator(application)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        if b"origin" not in headers:
            return await self.application(scope, receive, send)
        return await super().__call__(scope, receive, send)
