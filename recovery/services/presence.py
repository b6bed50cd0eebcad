"""The missed-signal check for phones: a patient's app silent for the program's number of
days gets one "please open the app" push per silence (Beiwe's heartbeat, for an app that
was killed or whose push token rotated), and the caseload shows since when."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from notifications.presence import presence_mark_nudged
from notifications.services import Message, notify_all
from recovery.notification_kinds import NotificationKind
from recovery.selectors.presence import silences_to_nudge


def nudge_silent_apps(*, now: datetime | None = None) -> int:
    """Queue the nudge for every silence not nudged yet; returns how many. The dedupe key
    names the silence's start, so a re-run (or two schedulers) adds nothing, and the next
    silence, after the app was heard from again, gets its own nudge."""
    now = now or timezone.now()
    silences = silences_to_nudge(now=now)
    if not silences:
        return 0
    with transaction.atomic():
        notify_all(
            messages=[
                Message(
                    kind=NotificationKind.APP_SILENT,
                    key=f"app-silent:{silence.since.isoformat()}",
                    recipients=[silence.patient_id],
                    payload={"silent_since": silence.since.isoformat()},
                )
                for silence in silences
            ],
            now=now,
        )
        presence_mark_nudged(silences=[(s.patient_id, s.since) for s in silences])
    return len(silences)
