"""Two dispatchers, two sweepers and two questionnaire sweeps at once, as OS processes on
PostgreSQL.

The claims use `SELECT ... FOR UPDATE SKIP LOCKED`: each process takes rows the other does
not hold, so the work is split and nothing is done twice. Pushes are counted where they
land, at the fake FCM server, since a process's own counters cannot see the other's.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification, NotificationState
from recovery.models import (
    AssignmentStatus,
    CheckInSchedule,
    Flag,
    FlagEvent,
    FlagKind,
    QuestionnaireAssignment,
    QuestionnaireSchedule,
)
from recovery.notification_kinds import NotificationKind
from tests.integration import data
from tests.integration.processes import Database, Supervisor, app_env, wait_until

pytestmark = pytest.mark.integration

REMINDERS = 1000
PATIENTS = 1000
BATCH = 25
JOB_COMMAND = ["python", "-m", "tests.integration.jobs"]


def run_side_by_side(supervisor: Supervisor, job: str, env: dict[str, str]) -> list[dict]:
    """Start two processes of `job` that begin work at the same instant; their reports."""
    start_at = time.time() + 4.0  # both have set Django up and connected by then
    names = [f"{job}-a", f"{job}-b"]
    for name in names:
        supervisor.start(
            name,
            [*JOB_COMMAND, job, "--start-at", f"{start_at:.3f}", "--batch-size", str(BATCH)],
            env=env,
        )
    for name in names:
        managed = supervisor.processes[name]
        wait_until(lambda m=managed: not m.alive, timeout=180, what=f"{name} to finish")
        assert managed.process.returncode == 0, f"{name} failed"
    return [json.loads(supervisor.processes[name].log().strip().splitlines()[-1]) for name in names]


def test_two_dispatchers_send_every_reminder_exactly_once(
    database: Database, redis_url: str, supervisor: Supervisor
) -> None:
    from tests.fakes.fcm_server import FakeFCMServer

    program = data.program_create()
    counselor = data.counselor_create(program)
    patients = data.patients_create(program, counselor, REMINDERS // 20, devices_each=1)
    ids = data.reminders_create(patients, each=20, due_at=timezone.now() - timedelta(seconds=1))
    assert len(ids) == REMINDERS

    # A little latency per push keeps each batch in flight long enough to overlap.
    with FakeFCMServer(latency_ms=10) as fcm:
        env = app_env(database, redis_url, FCM_ENDPOINT=fcm.url)
        reports = run_side_by_side(supervisor, "dispatch", env)
        received = fcm.received

    per_notification = Counter(int(m["data"]["notification_id"]) for m in received)
    assert set(per_notification) == set(ids), "every reminder reached the push service"
    duplicates = {nid: n for nid, n in per_notification.items() if n != 1}
    assert not duplicates, f"sent more than once: {sorted(duplicates.items())[:10]}"
    assert len(received) == REMINDERS

    rows = Notification.objects.filter(id__in=ids)
    assert rows.filter(state=NotificationState.SENT).count() == REMINDERS
    assert set(rows.values_list("attempts", flat=True)) == {1}
    assert sum(report["handled"] for report in reports) == REMINDERS
    assert all(report["handled"] > 0 for report in reports), f"no overlap: {reports}"


def test_two_sweepers_flag_every_missed_window_exactly_once(
    database: Database, redis_url: str, supervisor: Supervisor
) -> None:
    program = data.program_create()
    counselor = data.counselor_create(program)
    patients = data.patients_create(program, counselor, PATIENTS)
    started = timezone.now()
    data.schedules_create_due(patients, due_at=started - timedelta(minutes=1))

    env = app_env(database, redis_url, PUSH_BACKEND="memory")
    reports = run_side_by_side(supervisor, "sweep", env)

    flags = Flag.objects.filter(enrollment__program=program, kind=FlagKind.MISSED_CHECKIN)
    assert flags.count() == PATIENTS
    assert flags.values("enrollment_id").distinct().count() == PATIENTS
    raised = FlagEvent.objects.filter(flag__in=flags, action=FlagEvent.Action.RAISED)
    assert raised.count() == PATIENTS, "a window was flagged twice"
    assert not Flag.objects.exclude(kind=FlagKind.MISSED_CHECKIN).exists()

    schedules = CheckInSchedule.objects.filter(enrollment__program=program)
    assert set(schedules.values_list("consecutive_missed", flat=True)) == {1}
    assert not schedules.filter(next_due_at__lte=started).exists()

    # Each flag notified the care team once.
    alerts = Notification.objects.filter(recipient=counselor, kind=NotificationKind.FLAG_RAISED)
    assert alerts.count() == PATIENTS
    assert sum(report["handled"] for report in reports) == PATIENTS
    assert all(report["handled"] > 0 for report in reports), f"no overlap: {reports}"


def test_two_questionnaire_sweeps_make_each_questionnaire_due_and_announce_it_once(
    database: Database, redis_url: str, supervisor: Supervisor
) -> None:
    program = data.program_create()
    counselor = data.counselor_create(program)
    patients = data.patients_create(program, counselor, PATIENTS)
    for instrument in ("PHQ9", "GAD7"):
        QuestionnaireSchedule.objects.create(program=program, instrument=instrument, every_days=14)

    env = app_env(database, redis_url, PUSH_BACKEND="memory")
    reports = run_side_by_side(supervisor, "questionnaires", env)

    due = QuestionnaireAssignment.objects.filter(
        enrollment__in=patients, status=AssignmentStatus.DUE
    )
    assert due.count() == 2 * PATIENTS, "a questionnaire was made due twice, or not at all"
    assert set(due.values_list("instrument", flat=True)) == {"PHQ9", "GAD7"}
    # Each was announced once, by the sweep whose row it is; the other sweep's inserts
    # lost to the one-open-copy constraint and announced nothing.
    reminders = Notification.objects.filter(kind=NotificationKind.QUESTIONNAIRE_DUE)
    assert reminders.count() == 2 * PATIENTS
    announced = Counter(reminders.values_list("payload__assignment_id", flat=True))
    assert set(announced) == set(due.values_list("id", flat=True))
    assert set(announced.values()) == {1}
    assert sum(report["handled"] for report in reports) == 2 * PATIENTS
