"""The whole system as docker-compose runs it, as real processes on loopback.

migrate, then uvicorn (HTTP and websockets), a Celery worker and the one scheduler, all
started with the commands of docker-compose.yml, against PostgreSQL, Redis and a fake FCM
server. Everything the test does goes through the public API and a real websocket client;
the ORM only sets the program's reminder offset (no API for it) and reads rows to check.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from notifications.models import Notification, NotificationState
from recovery.models import Flag, FlagEvent, FlagKind
from recovery.notification_kinds import NotificationKind
from tests.integration import data
from tests.integration.api import Api
from tests.integration.processes import (
    Database,
    Supervisor,
    app_env,
    local_command,
    start_scheduler,
    start_web,
    start_worker,
    wait_until,
)
from tests.integration.sockets import EventSocket

pytestmark = pytest.mark.integration

DEVICES = ("e2e-phone-token", "e2e-tablet-token")
# The reminder falls due this long after the session is created; the program reminds one
# minute ahead, so the session starts a minute and this lead from now.
LEAD = timedelta(seconds=8)
DELIVERY_TIMEOUT = 45.0


def pushes_by_notification(received: list[dict]) -> Counter[tuple[int, str]]:
    return Counter((int(m["data"]["notification_id"]), m["token"]) for m in received)


def test_reminder_and_missed_checkin_flow_through_every_process(
    empty_database: Database, redis_url: str, supervisor: Supervisor
) -> None:
    from tests.fakes.fcm_server import FakeFCMServer

    with FakeFCMServer(latency_ms=0) as fcm:
        env = app_env(empty_database, redis_url, FCM_ENDPOINT=fcm.url)
        supervisor.run("migrate", local_command("migrate"), env=env)
        base = start_web(supervisor, env)
        start_worker(supervisor, env)
        start_scheduler(supervisor, env)

        api = Api(base)
        ready = api.client.get(f"{base}/readyz")
        assert ready.status_code == 200, ready.text

        # Staff accounts are made by an administrator; the program reminds 1 minute ahead.
        program = data.program_create(reminder_offsets_minutes=[1])
        counselor = data.counselor_create(program)
        staff = api.as_user(api.staff_login(counselor.username, data.STAFF_PASSWORD))

        enrollment_id, code = staff.enroll("Robin")
        patient = api.as_user(api.redeem(code))
        for address in DEVICES:
            patient.device(address)

        patient_socket = EventSocket(base.replace("http", "ws", 1), patient.token)
        counselor_socket = EventSocket(base.replace("http", "ws", 1), staff.token)
        try:
            for socket in (patient_socket, counselor_socket):
                socket.wait_for(lambda e: e["type"] == "ready", timeout=10, what="ready")

            # --- a session reminder reaches the socket and each device exactly once -----
            starts_at = datetime.now(UTC) + timedelta(minutes=1) + LEAD
            session_id = staff.session(
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=3),
                patients=[enrollment_id],
            )
            reminder = patient_socket.wait_for(
                lambda e: (
                    e.get("kind") == NotificationKind.SESSION_REMINDER
                    and e["payload"].get("session_id") == session_id
                ),
                timeout=LEAD.total_seconds() + DELIVERY_TIMEOUT,
                what="the session reminder on the patient's socket",
            )
            assert datetime.now(UTC) >= starts_at - timedelta(minutes=1), "sent before due"
            patient_socket.send({"type": "ack", "ids": [reminder["id"]]})

            def pushed() -> Counter[tuple[int, str]]:
                return pushes_by_notification(fcm.received)

            wait_until(
                lambda: all(pushed()[(reminder["id"], token)] for token in DEVICES),
                timeout=DELIVERY_TIMEOUT,
                what="the reminder's push to every device",
            )
            wait_until(
                lambda: Notification.objects.filter(
                    id=reminder["id"], acked_at__isnull=False
                ).exists(),
                timeout=10,
                what="the ack to be stored",
            )

            # --- a missed check-in raises one flag that reaches the counselor -------------
            now = datetime.now(UTC)
            opens_at, due_by = now - timedelta(hours=1), now + timedelta(seconds=10)
            schedule = staff.checkin_schedule(
                enrollment_id,
                opens_at=opens_at.strftime("%H:%M:%S"),
                due_by=due_by.strftime("%H:%M:%S"),
                days_of_week=[1, 2, 3, 4, 5, 6, 7],
                grace_minutes=0,
            )
            next_due = datetime.fromisoformat(schedule["next_due_at"])
            assert now < next_due <= due_by, schedule

            alert = counselor_socket.wait_for(
                lambda e: (
                    e.get("kind") == NotificationKind.FLAG_RAISED
                    and e["payload"].get("enrollment_id") == enrollment_id
                ),
                timeout=DELIVERY_TIMEOUT,
                what="the missed check-in flag on the counselor's socket",
            )
            assert alert["payload"]["kind"] == FlagKind.MISSED_CHECKIN
            # The window belongs to the day it opened (the patient's zone is UTC).
            assert alert["payload"]["window"] == opens_at.date().isoformat()

            # A few more scheduler ticks: nothing goes out twice, nothing is flagged twice.
            patient_socket.drain(3.0)
            counselor_socket.drain(0.5)
        finally:
            patient_socket.close()
            counselor_socket.close()

        pushes = pushes_by_notification(fcm.received)

    assert {token: pushes[(reminder["id"], token)] for token in DEVICES} == dict.fromkeys(
        DEVICES, 1
    )
    assert not [pair for pair, count in pushes.items() if count > 1], pushes
    reminders = patient_socket.notifications(NotificationKind.SESSION_REMINDER)
    assert [event["id"] for event in reminders] == [reminder["id"]]
    row = Notification.objects.get(id=reminder["id"])
    assert row.state == NotificationState.SENT
    assert row.attempts == 1

    flags = Flag.objects.filter(enrollment_id=enrollment_id)
    assert list(flags.values_list("kind", flat=True)) == [FlagKind.MISSED_CHECKIN]
    raised = FlagEvent.objects.filter(flag__in=flags, action=FlagEvent.Action.RAISED)
    assert raised.count() == 1
    alerts = counselor_socket.notifications(NotificationKind.FLAG_RAISED)
    assert [event["payload"]["flag_id"] for event in alerts] == [flags.get().id]
    # Clinical alerts go to the care team, never to the patient.
    assert not patient_socket.notifications(NotificationKind.FLAG_RAISED)
