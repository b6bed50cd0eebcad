from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True)
class PushMessage:
    """What goes to one device. Only generic text and an opaque id: a push can show on a
    locked screen, so it never carries PHI."""

    notification_id: int
    device_id: int
    address: str
    address_kind: str  # "token" or "fid"
    title: str
    body: str
    ttl_seconds: int | None
    urgent: bool

    def data(self) -> dict[str, str]:
        return {"notification_id": str(self.notification_id)}


class Outcome(StrEnum):
    SENT = "sent"
    DEAD = "dead"  # the address will never work again: deactivate, never retry
    RETRY = "retry"  # a server error: try again later
    # Our quota is spent (FCM 429), nothing is wrong with this message: send it again once
    # the pause of retry_after seconds is over, without counting an attempt.
    THROTTLED = "throttled"
    FAILED = "failed"  # refused for a reason retrying will not fix


@dataclass(frozen=True)
class PushResult:
    device_id: int
    outcome: Outcome
    error: str = ""
    retry_after: float | None = None


class PushBackend(Protocol):
    def send_many(self, messages: Sequence[PushMessage]) -> list[PushResult]: ...
