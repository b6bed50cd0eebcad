from __future__ import annotations

import logging
from collections.abc import Sequence

from notifications.push.base import Outcome, PushMessage, PushResult

logger = logging.getLogger("notifications.push.console")


class ConsolePushBackend:
    """The embedded default: logs what would be pushed (generic text and ids only)."""

    def send_many(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        for message in messages:
            logger.info(
                "push notification=%s device=%s title=%r",
                message.notification_id,
                message.device_id,
                message.title,
            )
        return [PushResult(device_id=m.device_id, outcome=Outcome.SENT) for m in messages]
