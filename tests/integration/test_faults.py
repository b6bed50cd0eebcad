"""Faults a production deployment meets: a worker killed mid-batch, Redis going away.

The database is the source of truth: whatever a dead worker held is claimed again once
its lease runs out, and whatever could not be queued while Redis was down goes out on the
first scheduler tick after it is back.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from notifications.models import Notification, NotificationState
from recovery.models import CheckIn, Flag, FlagKind
from recovery.notification_kinds import NotificationKind
from tests.integration import data
from tests.integration.api import Api
from tests.integration.processes import (
    Database,
    RedisServer,
    Supervisor,
    app_env,
    start_scheduler,
    start_web,
    start_worker,
    wait_until,
)
from tests.integration.sockets import EventSocket

pytestmark = pytest.mark.integration

LEASE_SECONDS = 3
PUSH_LATENCY_MS = 1000  # a batch stays in flight for about a second


def _is_ready(event: dict[str, Any]) -> bool:
    return event.get("type") == "ready"


def test_a_worker_killed_mid_batch_loses_no_reminder(
    database: Database, redis_url: str, supervisor: Supervisor
) -> None:
    from tests.fakes.fcm_server import FakeFCMServer

    program = data.program_create()
    counselor = data.counselor_create(program)
    patients = data.patients_create(program, counselor, 40, devices_each=1)

    with FakeFCMServer(latency_ms=PUSH_LATENCY_MS) as fcm:
        env = app_env(
            database,
            redis_url,
            FCM_ENDPOINT=fcm.url,
            NOTIFICATION_LEASE_SECONDS=str(LEASE_SECONDS),
            NOTIFICATION_BATCH_SIZE="20",
        )
        start_worker(supervisor, env, name="worker-a")
        start_scheduler(supervisor, env)
        ids = data.reminders_create(patients, each=3)
        rows = Notification.objects.filter(id__in=ids)

        # Kill the worker, children and all, while a batch is claimed and its pushes are
        # on the wire.
        wait_until(
            lambda: fcm.received and rows.filter(state=NotificationState.SENDING).exists(),
            timeout=30,
            what="worker-a to have a batch in flight",
            interval=0.02,
        )
        supervisor.kill("worker-a", signal.SIGKILL)
        supervisor.processes["worker-a"].process.wait(timeout=10)
        in_flight = dict(
            rows.filter(state=NotificationState.SENDING).values_list("id", "leased_until")
        )
        assert in_flight, "the kill did not land mid-batch"
        assert rows.exclude(state=NotificationState.SENT).count() > len(in_flight)

        start_worker(supervisor, env, name="worker-b")
        wait_until(
            lambda: rows.filter(state=NotificationState.SENT).count() == len(ids),
            timeout=90,
            what="every reminder to be sent after the crash",
            interval=0.5,
        )
        pushes = Counter(int(m["data"]["notification_id"]) for m in fcm.received)

    assert set(pushes) == set(ids), "a reminder was lost"
    # At least once: only what the dead worker had on the wire may have gone out twice.
    twice = {nid for nid, count in pushes.items() if count > 1}
    assert twice <= set(in_flight), sorted(twice - set(in_flight))
    assert max(pushes.values()) <= 2
    # The dead worker's rows waited out their lease before anyone sent them again.
    for nid, sent_at in rows.filter(id__in=in_flight).values_list("id", "sent_at"):
        assert sent_at >= in_flight[nid], (nid, sent_at, in_flight[nid])


def test_with_redis_down_checkins_are_stored_and_reminders_go_out_when_it_returns(
    database: Database, private_redis: RedisServer, supervisor: Supervisor
) -> None:
    from tests.fakes.fcm_server import FakeFCMServer

    program = data.program_create(reminder_offsets_minutes=[1])
    counselor = data.counselor_create(program)

    with FakeFCMServer(latency_ms=0) as fcm:
        env = app_env(database, private_redis.url, FCM_ENDPOINT=fcm.url)
        base = start_web(supervisor, env)
        start_worker(supervisor, env)
        start_scheduler(supervisor, env)

        api = Api(base)
        staff = api.as_user(api.staff_login(counselor.username, data.STAFF_PASSWORD))
        enrollment_id, code = staff.enroll("Sam")
        patient = api.as_user(api.redeem(code))
        patient.device("redis-outage-phone")
        # A socket before the outage leaves pooled Redis connections in the web process,
        # which the restart kills.
        ws_base = base.replace("http", "ws", 1)
        before = EventSocket(ws_base, staff.token)
        before.wait_for(_is_ready, timeout=10, what="ready before the outage")

        private_redis.stop()
        readiness = api.client.get(f"{base}/readyz")
        assert readiness.status_code == 503
        assert readiness.json()["checks"]["redis"].startswith("error")

        # A check-in during the outage: answered, stored; its high craving raises a flag
        # whose alert to the counselor cannot be queued yet.
        checkin_id = str(uuid.uuid4())
        began = time.monotonic()
        body = patient.call(
            "POST",
            "/checkins/",
            201,
            json={
                "id": checkin_id,
                "mood": 2,
                "craving": 9,
                "used_substance": False,
                "device_time": datetime.now(UTC).isoformat(),
                "device_timezone": "UTC",
            },
        )
        assert time.monotonic() - began < 15, "the request waited on the broker"
        assert body["id"] == checkin_id
        assert CheckIn.objects.filter(client_id=checkin_id, enrollment_id=enrollment_id).exists()
        flag = Flag.objects.get(enrollment_id=enrollment_id, kind=FlagKind.HIGH_CRAVING)

        # A reminder falls due during the outage.
        starts_at = datetime.now(UTC) + timedelta(minutes=1, seconds=2)
        session_id = staff.session(
            starts_at=starts_at, ends_at=starts_at + timedelta(hours=1), patients=[enrollment_id]
        )
        reminder = Notification.objects.get(
            kind=NotificationKind.SESSION_REMINDER, payload__session_id=session_id
        )
        alert = Notification.objects.get(
            kind=NotificationKind.FLAG_RAISED, recipient=counselor, payload__flag_id=flag.id
        )
        due_wait = (reminder.due_at - datetime.now(UTC)).total_seconds() + 3
        time.sleep(max(0.0, due_wait))
        for row in (reminder, alert):
            row.refresh_from_db()
            assert row.state == NotificationState.PENDING, "sent with no broker?"
        assert not fcm.received

        private_redis.start()
        # The first websocket after the restart works: it does not meet the dead pooled
        # connection (after a failover every reconnecting app would).
        first = EventSocket(ws_base, patient.token)
        first.wait_for(_is_ready, timeout=10, what="ready on the first socket after the restart")
        first.close()
        before.close()
        wait_until(
            lambda: (
                Notification.objects.filter(
                    id__in=[reminder.id, alert.id], state=NotificationState.SENT
                ).count()
                == 2
            ),
            timeout=90,
            what="the reminder and the alert once Redis is back",
            interval=0.5,
        )
        assert api.client.get(f"{base}/readyz").json()["checks"]["redis"] == "ok"
        pushes = Counter((int(m["data"]["notification_id"]), m["token"]) for m in fcm.received)

    assert pushes[(reminder.id, "redis-outage-phone")] == 1
    assert max(pushes.values()) == 1
