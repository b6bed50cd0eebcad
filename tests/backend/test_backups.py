"""The restore check compares counts and checksums; backups need PostgreSQL (the real
backup and restore run in tests/integration/test_backup_restore.py)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from backend.backups import differences, fingerprint
from notifications.models import Notification
from tests.factories import PatientUserFactory

pytestmark = pytest.mark.django_db


def _reminder(user, key: str) -> Notification:
    now = timezone.now()
    return Notification.objects.create(
        recipient=user,
        kind="session_reminder",
        dedupe_key=key,
        title="t",
        body="b",
        due_at=now,
        created_at=now,
    )


def test_the_check_finds_a_missing_row_and_a_changed_one():
    user = PatientUserFactory()
    first, _ = _reminder(user, "a"), _reminder(user, "b")
    before = fingerprint()
    assert before["outbox"]["rows"] == 2
    assert differences(before, fingerprint()) == []

    Notification.objects.filter(id=first.id).update(state="sent")
    assert differences(before, fingerprint()) == [
        "outbox: the rows differ from the backup's (checksum)"
    ]
    Notification.objects.filter(id=first.id).delete()
    assert differences(before, fingerprint()) == ["outbox: 1 rows, the backup had 2"]


def test_backup_db_explains_that_sqlite_is_not_backed_up_with_pg_dump(tmp_path):
    with pytest.raises(Exception, match="need PostgreSQL"):
        call_command("backup_db", "--output", str(tmp_path / "x.dump"))


def test_restore_db_refuses_a_file_that_is_not_there(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("restore_db", "--input", str(tmp_path / "missing.dump"))
