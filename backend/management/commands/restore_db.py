"""`manage.py restore_db --input FILE`: pg_restore a backup_db dump into the database
DATABASE_URL names, which must be empty (a new database: never restore over live data by
mistake). Then run `manage.py verify_backup --manifest FILE.manifest.json`."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from backend.backups import connection_args, pg_tool


class Command(BaseCommand):
    help = "Restore a backup_db dump into an empty PostgreSQL database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", required=True, type=Path, help="the dump to restore")

    def handle(self, *args: Any, **options: Any) -> None:
        dump: Path = options["input"]
        if not dump.is_file():
            raise CommandError(f"{dump}: no such file")
        libpq, env = connection_args()
        tables = connection.introspection.table_names()
        connection.close()  # pg_restore must not wait on a lock this process holds
        if tables:
            raise CommandError(
                f"the database already has {len(tables)} tables: restore into a new, empty one"
            )
        command = [
            pg_tool("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            *libpq,
            str(dump),
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
        if done.returncode != 0:
            raise CommandError(f"pg_restore failed: {done.stderr.strip()}")
        self.stdout.write(f"restored {dump}")
