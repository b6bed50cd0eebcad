"""The domain's own errors: what services raise when a rule refuses a request.

Services know nothing of HTTP or forms. They raise a ServiceError (or one of its kinds)
with a code, a message and the fields to blame; the API's one exception handler
(backend.api.exception_handler) turns it into a status and the error body, and the
dashboard (recovery.web.forms.add_service_error) into form errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class ServiceError(Exception):
    """Input a rule refuses, blamed on fields: `ServiceError({"ends_at": ["..."]})`.

    A message alone (`ServiceError(message="...")`) blames no field in particular.
    """

    code = "invalid"
    message = "Invalid input."

    def __init__(
        self,
        fields: Mapping[str, Iterable[str] | str] | None = None,
        *,
        message: str | None = None,
        code: str | None = None,
    ) -> None:
        self.fields: dict[str, list[str]] = {
            key: [messages] if isinstance(messages, str) else [str(m) for m in messages]
            for key, messages in (fields or {}).items()
        }
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        super().__init__(self.message)

    def messages(self) -> list[str]:
        """Every message, the fields' first (for a page that lists them)."""
        listed = [m for messages in self.fields.values() for m in messages]
        return listed or [self.message]


class NotAllowed(ServiceError):
    """The caller may not do this, whatever the input."""

    code = "permission_denied"
    message = "You do not have permission to perform this action."


class NotFound(ServiceError):
    """What the request names does not exist, or is out of the caller's reach."""

    code = "not_found"
    message = "Not found."


class Conflict(ServiceError):
    """The request contradicts what is already stored (a reused idempotency key)."""

    code = "conflict"
    message = "This conflicts with existing data."
