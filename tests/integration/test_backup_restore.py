"""A backup of a live database restores into an empty one with its outbox, flags, flag
history, audit trail and disclosures whole; a restore that lost a row is caught."""

from __future__ import annotations

import glob
import json
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest
from django.utils import timezone

from notifications.models import Notification
from recovery.models import AuditEntry, Flag, FlagEvent, FlagKind, Severity
from recovery.services.flags import FlagCandidate, flags_raise
from tests.integration.data import (
    counselor_create,
    patients_create,
    program_create,
    reminders_create,
)
from tests.integration.processes import TEST_SECRET_KEY, Database

BACKUP_COMMAND = ["python", "manage.py", "backup_db", "--output"]
RESTORE_COMMAND = ["python", "manage.py", "restore_db", "--input"]
VERIFY_COMMAND = ["python", "manage.py", "verify_backup", "--manifest"]


def _pg_bin() -> str:
    """The newest PostgreSQL client on this machine (pg_dump must not be older than the
    server), as .ci/run finds the server."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))
    if candidates:
        return str(Path(candidates[-1]).parent)
    found = shutil.which("pg_dump")
    if found is None:
        pytest.skip("no pg_dump on this machine")
    return str(Path(found).parent)


def _env(database: Database) -> dict[str, str]:
    return {
        "DATABASE_URL": database.url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "REDIS_URL": "",
        "PG_BIN": _pg_bin(),
    }


def _records() -> None:
    program = program_create()
    counselor = counselor_create(program)
    enrollments = patients_create(program, counselor, 5, devices_each=1)
    reminders_create(enrollments, each=3)
    now = timezone.now()
    flags_raise(
        candidates=[
            FlagCandidate(enrollment, FlagKind.SELF_HARM, f"w-{uuid.uuid4().hex[:6]}")
            for enrollment in enrollments
        ],
        now=now,
    )
    AuditEntry.objects.bulk_create(
        AuditEntry(
            actor=counselor,
            actor_role="counselor",
            program_id=program.id,
            enrollment_id=enrollment.id,
            action=AuditEntry.Action.READ,
            resource="patient",
            at=now,
        )
        for enrollment in enrollments
    )


def test_a_backup_restores_whole_into_an_empty_database(database, postgres, supervisor, tmp_path):
    _records()
    assert Flag.objects.filter(severity=Severity.CRISIS).count() == 5
    counts = {
        "outbox": Notification.objects.count(),
        "flag_events": FlagEvent.objects.count(),
        "audit_trail": AuditEntry.objects.count(),
    }
    dump = tmp_path / "iop.dump"
    supervisor.run("backup", [*BACKUP_COMMAND, str(dump)], env=_env(database))
    manifest = json.loads((tmp_path / "iop.dump.manifest.json").read_text())
    # Every patient's record: for the owner's eyes only, whatever the umask.
    assert dump.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "iop.dump.manifest.json").stat().st_mode & 0o777 == 0o600
    assert manifest["tables"]["outbox"]["rows"] == counts["outbox"] > 0
    assert manifest["tables"]["audit_trail"]["rows"] == counts["audit_trail"] > 0

    name = f"{database.name}_restored"
    restored = Database(name=name, url=postgres.create(name))
    try:
        supervisor.run("restore", [*RESTORE_COMMAND, str(dump)], env=_env(restored))
        verified = supervisor.run(
            "verify", [*VERIFY_COMMAND, str(dump) + ".manifest.json"], env=_env(restored)
        )
        assert "restore verified" in verified.log()

        # Restoring again over what is there is refused: never over live data.
        again = supervisor.start("restore-again", [*RESTORE_COMMAND, str(dump)], env=_env(restored))
        assert again.process.wait(timeout=120) != 0
        assert "restore into a new, empty one" in again.log()

        # A restore missing one outbox row is caught.
        with psycopg.connect(restored.url, autocommit=True) as connection:
            connection.execute(
                "DELETE FROM notifications_notification WHERE id = "
                "(SELECT max(id) FROM notifications_notification)"
            )
        broken = supervisor.start(
            "verify-broken", [*VERIFY_COMMAND, str(dump) + ".manifest.json"], env=_env(restored)
        )
        assert broken.process.wait(timeout=120) != 0
        assert "outbox" in broken.log()
    finally:
        postgres.drop(name)
