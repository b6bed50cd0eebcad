"""A reminder claimed by a worker that dies still goes out before it expires.

The dispatcher's lease (NOTIFICATION_LEASE_SECONDS, 120 s by default) is longer than a
1-minute reminder lives: a plain lease would leave the row to the dead worker until after
the session started, and the reminder would be cancelled as expired. The claim leases a
row that expires soon for half the time it has left (notifications/claim.py), so another
worker sends it in time. Pushes are at least once; the collapse id makes the repeat
replace the first on the phone.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from notifications.models import Device, Notification, NotificationState
from tests.integration import data
from tests.integration.processes import (
    Database,
    Supervisor,
    app_env,
    start_scheduler,
    start_worker,
    wait_until,
)

pytestmark = pytest.mark.integration

OFFSET = timedelta(minutes=1)  # the reminder expires when the session starts
PUSH_LATENCY_MS = 3000  # the dead worker's push is still on the wire when it is killed


def collapse_ids(message: dict[str, Any]) -> tuple[str, str, str]:
    """What decides whether a push replaces one already on the phone: the Android
    collapse key and notification tag, and apns-collapse-id on iOS."""
    android = message.get("android", {})
    return (
        android.get("collapse_key", ""),
        android.get("notification", {}).get("tag", ""),
        message.get("apns", {}).get("headers", {}).get("apns-collapse-id", ""),
    )


@pytest.fixture
def fcm() -> Iterator[Any]:
    from tests.fakes.fcm_server import FakeFCMServer

    class StampingFCM(FakeFCMServer):
        """Records when each accepted push arrived (before the latency is served)."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.arrivals: list[tuple[float, dict[str, Any]]] = []

        def _answer_locked(
            self, project: str, target: str, seen: int, message: dict[str, Any]
        ) -> Any:
            answer = super()._answer_locked(project, target, seen, message)
            if answer[0] == 200:
                self.arrivals.append((time.time(), message))
            return answer

    with StampingFCM(latency_ms=PUSH_LATENCY_MS) as server:
        yield server


def test_a_reminder_held_by_a_killed_worker_goes_out_before_it_expires(
    database: Database, redis_url: str, supervisor: Supervisor, fcm: Any
) -> None:
    program = data.program_create(reminder_offsets_minutes=[1])
    counselor = data.counselor_create(program)
    [patient] = data.patients_create(program, counselor, 1, devices_each=1)
    # The production lease, on purpose: no NOTIFICATION_LEASE_SECONDS override.
    env = app_env(database, redis_url, FCM_ENDPOINT=fcm.url)
    start_worker(supervisor, env, name="worker-a")
    start_scheduler(supervisor, env)

    [reminder_id] = data.reminders_create(
        [patient], each=1, due_at=timezone.now() + timedelta(seconds=2), expires_in=OFFSET
    )
    reminder = Notification.objects.get(id=reminder_id)
    assert reminder.expires_at is not None
    expires = reminder.expires_at.timestamp()

    # worker-a claimed it and its push is on the wire: kill it, children and all.
    wait_until(lambda: fcm.arrivals, timeout=30, what="worker-a to push the reminder")
    supervisor.kill("worker-a", signal.SIGKILL)
    supervisor.processes["worker-a"].process.wait(timeout=10)
    killed_at = time.time()
    reminder.refresh_from_db()
    assert reminder.state == NotificationState.SENDING, "the kill did not land mid-batch"
    assert reminder.leased_until is not None
    assert reminder.leased_until < reminder.expires_at, "the lease outlives the reminder"

    # The worker comes back (or another one takes over), as a supervisor would restart it.
    start_worker(supervisor, env, name="worker-b")
    wait_until(
        lambda: any(at > killed_at for at, _ in fcm.arrivals),
        timeout=max(1.0, expires - time.time() + 10),
        what="the reminder to be pushed again after the kill",
        interval=0.2,
    )
    wait_until(
        lambda: Notification.objects.get(id=reminder_id).state == NotificationState.SENT,
        timeout=30,
        what="the reminder to be recorded as sent",
        interval=0.2,
    )

    resent = [at for at, _ in fcm.arrivals if at > killed_at]
    assert min(resent) < expires, f"pushed {min(resent) - expires:.1f} s after it expired"
    # Exactly once on the phone: every push of it carries one collapse id, so the repeat
    # replaces the first instead of showing a second notification.
    pushes = [m for _, m in fcm.arrivals if m["data"]["notification_id"] == str(reminder_id)]
    # (Other jobs may push the patient something else meanwhile, say a milestone.)
    assert len(pushes) == 2
    assert {m["token"] for m in pushes} == {Device.objects.get(user_id=patient.patient_id).address}
    shown = {collapse_ids(m) for m in pushes}
    assert shown == {(str(reminder_id),) * 3}
    reminder.refresh_from_db()
    assert reminder.sent_at is not None
    assert reminder.sent_at < reminder.expires_at
