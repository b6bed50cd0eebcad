from __future__ import annotations

from collections.abc import Sequence

from notifications.push.base import Outcome, PushMessage, PushResult

# Like django.core.mail.outbox: tests read what was pushed.
outbox: list[PushMessage] = []


class MemoryPushBackend:
    def send_many(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        outbox.extend(messages)
        return [PushResult(device_id=m.device_id, outcome=Outcome.SENT) for m in messages]
