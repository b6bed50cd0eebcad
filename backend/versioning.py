"""What every API answer says about the API, and what it asks of the app.

Every response carries `API-Version`. The app says what it is with `X-App-Platform`
(`ios`, `android`, `web`) and `X-App-Version` (`1.4.2`); a deployment that stopped
supporting old apps sets a minimum per platform (MIN_APP_VERSIONS), and an older app gets
426 `upgrade_required`, which it shows as "update the app". A request without the headers
(a browser, a script) is not held to a minimum.

An `/api/` path nothing answers is a 404 in the API's error format, DEBUG or not (with
DEBUG on Django would answer its HTML debug page).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

API_VERSION_HEADER = "API-Version"
APP_VERSION_HEADER = "X-App-Version"
APP_PLATFORM_HEADER = "X-App-Platform"
MIN_VERSION_HEADER = "X-Min-App-Version"
UPGRADE_REQUIRED = 426
_VERSION = re.compile(r"^[0-9]{1,6}(\.[0-9]{1,6}){0,3}$")


def parse_version(raw: str) -> tuple[int, ...] | None:
    """`1.4.2` -> (1, 4, 2); anything else -> None. Trailing zeros do not count."""
    if not _VERSION.fullmatch(raw):
        return None
    parts = [int(part) for part in raw.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def minimum_for(platform: str, minimums: Mapping[str, str]) -> str | None:
    """The oldest app version the deployment supports on this platform, if it set one."""
    return minimums.get(platform.strip().lower()) or None


def _error(status: int, code: str, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse(
        {"error": {"code": code, "message": message, "fields": {}}}, status=status
    )
    for name, value in headers.items():
        response[name] = value
    return response


def too_old(request: HttpRequest, minimums: Mapping[str, str]) -> HttpResponse | None:
    """The 426 for an app older than its platform's minimum, else None."""
    platform = request.headers.get(APP_PLATFORM_HEADER, "")
    raw = request.headers.get(APP_VERSION_HEADER, "")
    minimum = minimum_for(platform, minimums)
    if not raw or minimum is None:
        return None
    version, floor = parse_version(raw.strip()), parse_version(minimum)
    if floor is None or (version is not None and version >= floor):
        return None
    # A version we cannot read is an app we cannot vouch for: also asked to upgrade.
    return _error(
        UPGRADE_REQUIRED,
        "upgrade_required",
        f"This version of the app is no longer supported. Update to {minimum} or later.",
        **{MIN_VERSION_HEADER: minimum},
    )


class ApiContractMiddleware:
    """API-Version on every answer, the minimum app version, JSON 404s under /api/."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse | None = None
        if request.path.startswith("/api/"):
            response = too_old(request, getattr(settings, "MIN_APP_VERSIONS", {}))
        if response is None:
            response = self.get_response(request)
            if (
                response.status_code == 404
                and request.path.startswith("/api/")
                and not response.get("Content-Type", "").startswith("application/json")
            ):
                response = _error(404, "not_found", "Not found.")
        response[API_VERSION_HEADER] = settings.API_VERSION
        return response
