"""Optional error reporting to Sentry (SENTRY_DSN), with PHI kept out of every event.

What leaves the server: the exception's type, message and stack (file, function, line),
the route pattern (the transaction), the request id and the release. Never the request
body (the SDK does not read it), URL, cookies, headers or user (send_default_pii off, and
`scrub` removes whatever an integration still attached), local variables, or breadcrumb
data.
"""

from __future__ import annotations

from typing import Any

import structlog

PATH_LOGGERS = ("django.request", "django.server")


def scrub(event: Any, hint: Any = None) -> Any:
    """before_send / before_send_transaction: drop the user, the request's URL (paths hold
    ids), body, cookies, headers and environment, extras, local variables and breadcrumb
    data; tag the request id so the event can be matched with the logs."""
    event.pop("user", None)
    request = event.get("request")
    if isinstance(request, dict):
        event["request"] = {"method": request["method"]} if "method" in request else {}
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    event.pop("extra", None)
    for container in ("exception", "threads"):
        for value in (event.get(container) or {}).get("values", []) or []:
            for frame in (value.get("stacktrace") or {}).get("frames", []) or []:
                frame.pop("vars", None)
    if event.get("logger") in PATH_LOGGERS:
        event.pop("logentry", None)  # "Not Found: /api/v1/patients/45/...": ids
        event.pop("message", None)
    crumbs = event.get("breadcrumbs")
    values = crumbs.get("values", []) if isinstance(crumbs, dict) else crumbs or []
    for crumb in values:
        crumb.pop("data", None)
        # SQL holds parameters; Django's request lines hold paths.
        if crumb.get("category") in ("query", *PATH_LOGGERS):
            crumb.pop("message", None)
    return event


def init_error_reporting(
    *, dsn: str, environment: str, release: str = "", transport: Any = None
) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        include_source_context=False,
        before_send=scrub,
        before_send_transaction=scrub,
        integrations=[DjangoIntegration(transaction_style="url"), CeleryIntegration()],
        traces_sample_rate=0.0,
        transport=transport,
    )
