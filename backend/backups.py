"""Backups of the PostgreSQL database (pg_dump custom format) and the check that a restore
brought back the records that matter whole: the outbox, the flags and their history, the
audit trail and the disclosures made under consent.

A backup is two files: the dump, and beside it `<dump>.manifest.json` with each table's row
count and a SHA-256 over its rows (ordered by id). `verify_backup` recomputes both on the
database it is pointed at and compares. The manifest holds counts and hashes only: nothing
in it can be read back into a record.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models

from notifications.models import Notification
from recovery.models import AuditEntry, Disclosure, Flag, FlagEvent

# What must come back whole, by the name the manifest gives it.
CHECKED: dict[str, type[models.Model]] = {
    "outbox": Notification,
    "flags": Flag,
    "flag_events": FlagEvent,
    "audit_trail": AuditEntry,
    "disclosures": Disclosure,
}
CHUNK = 2000


def manifest_path(dump: Path) -> Path:
    return dump.with_name(dump.name + ".manifest.json")


def fingerprint(
    *,
    models_by_name: Mapping[str, type[models.Model]] = CHECKED,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Each table's row count and a SHA-256 over its rows as the database stores them."""
    result: dict[str, dict[str, Any]] = {}
    for name, model in models_by_name.items():
        table = model._meta.db_table
        columns = [field.column for field in model._meta.concrete_fields if field.column]
        quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
        digest = hashlib.sha256()
        count = 0
        # Raw rows, not model instances: encrypted columns are hashed as stored, and
        # nothing is decrypted to be checked.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quoted} FROM {connection.ops.quote_name(table)} ORDER BY 1"  # noqa: S608 - names from the models
            )
            while rows := cursor.fetchmany(CHUNK):
                for row in rows:
                    digest.update(json.dumps(row, default=_plain, sort_keys=True).encode())
                    digest.update(b"\n")
                count += len(rows)
                if progress is not None:
                    progress(name, len(rows))
        result[name] = {"rows": count, "sha256": digest.hexdigest()}
    return result


def _plain(value: Any) -> str:
    """A stable text for a column value JSON cannot write (dates, decimals, bytes)."""
    if isinstance(value, memoryview | bytes):
        return bytes(value).hex()
    return str(value)


def differences(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, wanted in expected.items():
        found = actual.get(name)
        if found is None:
            problems.append(f"{name}: not checked on this database")
        elif found["rows"] != wanted["rows"]:
            problems.append(f"{name}: {found['rows']} rows, the backup had {wanted['rows']}")
        elif found["sha256"] != wanted["sha256"]:
            problems.append(f"{name}: the rows differ from the backup's (checksum)")
    return problems


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: from PG_BIN if set (a version at least the server's), else
    from PATH."""
    directory = os.environ.get("PG_BIN", "")
    found = str(Path(directory) / name) if directory else shutil.which(name)
    if not found or not Path(found).exists():
        raise ImproperlyConfigured(
            f"{name} not found: install the PostgreSQL client or set PG_BIN."
        )
    return found


def connection_args() -> tuple[list[str], dict[str, str]]:
    """The libpq options and environment for the default database (password in PGPASSWORD,
    never on a command line other users can read)."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            "backup_db and restore_db need PostgreSQL (DATABASE_URL). For the embedded "
            "SQLite default, copy db.sqlite3 while the server is stopped."
        )
    args = ["--dbname", str(database["NAME"])]
    if database.get("HOST"):
        args += ["--host", str(database["HOST"])]
    if database.get("PORT"):
        args += ["--port", str(database["PORT"])]
    if database.get("USER"):
        args += ["--username", str(database["USER"])]
    env = {**os.environ}
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = str(database["PASSWORD"])
    return args, env
