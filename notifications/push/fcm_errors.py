"""What an FCM answer means for one device: sent, dead, retry later, throttled or failed.

Results and logs carry error codes only, never a token or FCM's message text, which could
quote the request.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime
from typing import Any

from firebase_admin import exceptions, messaging

from notifications.push.base import Outcome, PushMessage, PushResult

# Failures that say nothing about the device: the service or our credentials (our quota,
# 429, is THROTTLED instead).
# Retrying gives operators time to fix a credential before the row gives up.
_RETRYABLE = (
    exceptions.UnavailableError,
    exceptions.InternalError,
    exceptions.DeadlineExceededError,
    exceptions.UnauthenticatedError,  # includes ThirdPartyAuthError (APNs credentials)
    exceptions.AbortedError,
)


class PushPaused(Exception):
    """Not sent: an earlier answer in the batch was a 429."""


def is_throttle(error: BaseException) -> bool:
    # Also a device's own message rate (rare for us): pausing everyone briefly is cheaper
    # than telling the two apart from the answer.
    return isinstance(error, exceptions.ResourceExhaustedError) or _status_of(error) == 429


def throttled_result(device_id: int, pause: float, error: str = "PUSH_PAUSED") -> PushResult:
    return PushResult(
        device_id=device_id, outcome=Outcome.THROTTLED, error=error, retry_after=pause
    )


def result_for(message: PushMessage, error: BaseException | None) -> PushResult:
    device_id = message.device_id
    if error is None:
        return PushResult(device_id=device_id, outcome=Outcome.SENT)
    if isinstance(error, PushPaused):
        return PushResult(device_id=device_id, outcome=Outcome.THROTTLED, error="PUSH_PAUSED")
    code = _error_code(error)
    if is_throttle(error):
        return PushResult(
            device_id=device_id,
            outcome=Outcome.THROTTLED,
            error=code,
            retry_after=retry_after_of(error),
        )
    if isinstance(error, messaging.UnregisteredError | messaging.SenderIdMismatchError):
        return PushResult(device_id=device_id, outcome=Outcome.DEAD, error=code)
    if isinstance(error, exceptions.InvalidArgumentError) and _names_bad_address(error):
        return PushResult(device_id=device_id, outcome=Outcome.DEAD, error="INVALID_ADDRESS")
    status = _status_of(error)
    if isinstance(error, _RETRYABLE) or (status or 0) >= 500:
        return PushResult(
            device_id=device_id,
            outcome=Outcome.RETRY,
            error=code,
            retry_after=retry_after_of(error),
        )
    if isinstance(error, exceptions.FirebaseError) and status is None:
        # No HTTP answer at all (connection reset, protocol error): the service may never
        # have seen the request.
        return PushResult(device_id=device_id, outcome=Outcome.RETRY, error=code)
    # A refusal of this very message (or a message the SDK would not encode): sending it
    # again would be refused again.
    return PushResult(device_id=device_id, outcome=Outcome.FAILED, error=code)


def _error_code(error: BaseException) -> str:
    """A code fit for the row and the logs: FCM's errorCode or the platform code, never the
    message text, which could quote the request."""
    detail = _fcm_error_code(error)
    if detail:
        return detail
    if isinstance(error, exceptions.FirebaseError):
        return str(error.code)
    return type(error).__name__


def _error_body(error: BaseException) -> dict[str, Any]:
    response = getattr(error, "http_response", None)
    if response is None:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    inner = body.get("error") if isinstance(body, dict) else None
    return inner if isinstance(inner, dict) else {}


def _fcm_error_code(error: BaseException) -> str:
    for detail in _error_body(error).get("details") or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    return ""


_ADDRESS_WORDS = re.compile(r"registration token|installation id|\bfid\b", re.IGNORECASE)
_INVALID_WORDS = re.compile(r"not a valid|\binvalid\b", re.IGNORECASE)


def _names_bad_address(error: exceptions.InvalidArgumentError) -> bool:
    """INVALID_ARGUMENT is about the token only when FCM says so: in the message ("The
    registration token is not a valid FCM registration token") or in a field violation on
    message.token / message.fid. Any other invalid argument is our payload's fault, and the
    device must stay active."""
    body = _error_body(error)
    text = f"{body.get('message') or ''} {error}"
    if _ADDRESS_WORDS.search(text) and _INVALID_WORDS.search(text):
        return True
    for detail in body.get("details") or []:
        if not isinstance(detail, dict):
            continue
        for violation in detail.get("fieldViolations") or []:
            if isinstance(violation, dict) and violation.get("field") in (
                "message.token",
                "message.fid",
            ):
                return True
    return False


def _status_of(error: BaseException) -> int | None:
    response = getattr(error, "http_response", None)
    status = getattr(response, "status_code", None)
    return int(status) if status is not None else None


def retry_after_of(error: BaseException) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    response = getattr(error, "http_response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    value = str(value).strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(tz=UTC)).total_seconds())
