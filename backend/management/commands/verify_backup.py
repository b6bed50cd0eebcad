"""`manage.py verify_backup --manifest FILE.manifest.json`: checks that this database holds
what the backup's manifest says, table by table (row counts and checksums of the outbox,
flags, flag history, audit trail and disclosures). Exits non-zero on any difference."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from backend.backups import differences, fingerprint


class Command(BaseCommand):
    help = "Check a restored database against its backup's manifest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--manifest", required=True, type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        manifest = json.loads(Path(options["manifest"]).read_text())
        with transaction.atomic():
            found = fingerprint()
        problems = differences(manifest["tables"], found)
        if problems:
            raise CommandError("the restore is not whole: " + "; ".join(problems))
        rows = ", ".join(f"{name} {entry['rows']}" for name, entry in found.items())
        self.stdout.write(f"restore verified: {rows}")
