"""`manage.py backup_db --output FILE`: a consistent pg_dump (custom format) of the
database, and its manifest (row counts and checksums of what must come back whole).

The dump and the manifest see the same instant: this command opens a REPEATABLE READ
transaction, exports its snapshot, runs pg_dump on that snapshot, and takes the manifest in
the same transaction. So it runs safely while the service writes, and a restore of the
dump must match the manifest exactly.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from backend.backups import connection_args, fingerprint, manifest_path, pg_tool


class Command(BaseCommand):
    help = "Back up the PostgreSQL database (pg_dump -Fc) with a manifest to verify restores."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", required=True, type=Path, help="the dump file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        output: Path = options["output"]
        libpq, env = connection_args()
        # The dump is every patient's record: readable by its owner only, whatever the
        # umask (pg_dump creates the file itself, so it is made first, empty and private).
        output.touch(mode=0o600, exist_ok=True)
        output.chmod(0o600)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone() or ("",)
            command = [
                pg_tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                f"--snapshot={snapshot}",
                "--file",
                str(output),
            ]
            done = subprocess.run([*command, *libpq], env=env, capture_output=True, text=True)  # noqa: S603
            if done.returncode != 0:
                raise CommandError(f"pg_dump failed: {done.stderr.strip()}")
            tables = fingerprint()
        manifest = {"dump": output.name, "tables": tables}
        manifest_file = manifest_path(output)
        manifest_file.touch(mode=0o600, exist_ok=True)
        manifest_file.chmod(0o600)
        manifest_file.write_text(json.dumps(manifest, indent=2) + "\n")
        rows = ", ".join(f"{name} {entry['rows']}" for name, entry in tables.items())
        self.stdout.write(f"backed up to {output} ({rows})")
