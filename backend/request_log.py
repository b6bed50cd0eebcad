"""One log event per request: its id, the route pattern, status, duration, and who asked
(user id and role, nothing else about them). Never the path (it holds ids), the query
string or a body."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

import structlog
from django.http import HttpRequest, HttpResponse

logger = structlog.get_logger("backend.request")

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's request id is kept if it looks like one; anything else is replaced.
_GOOD_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = offered if _GOOD_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            user = getattr(request, "user", None)  # DRF copies its authenticated user here
            if user is None or not user.is_authenticated:
                user = None
            match = request.resolver_match
            logger.info(
                "request",
                method=request.method,
                route=(match.route or match.view_name) if match else None,
                status=response.status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                user_id=user.pk if user is not None else None,
                role=getattr(user, "role", None),
            )
            return response
        finally:
            structlog.contextvars.clear_contextvars()
