"""`manage.py apply_retention [--dry-run]`: delete what each program's retention policy
says has expired (recovery/services/retention.py), with a progress bar; `--dry-run` only
reports what would go. Safe to interrupt and run again: it picks up what is left."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from rich.console import Console
from rich.progress import Progress

from recovery.services.retention import Expired, retention_apply, retention_candidates


class Command(BaseCommand):
    help = "Delete (or with --dry-run, report) records past their retention period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would be removed; change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        now = timezone.now()
        total = retention_candidates(now=now).count()
        console = Console(stderr=True)
        with Progress(console=console, disable=total == 0) as progress:
            task = progress.add_task("checking" if dry_run else "applying retention", total=total)

            def advance(found: Expired | None) -> None:
                progress.advance(task)

            report = retention_apply(now=now, dry_run=dry_run, on_patient=advance)
        verb = "would delete" if dry_run else "deleted"
        for item in report.items:
            self.stdout.write(
                f"enrollment {item.enrollment_id} (program {item.program_id}): {verb} "
                f"{item.checkins} check-ins, {item.urges} urge presses, "
                f"{item.notifications} notifications"
            )
        self.stdout.write(
            f"{verb} for {report.patients} discharged patients: {report.checkins} check-ins, "
            f"{report.urges} urge presses, {report.notifications} notifications; audit trail "
            f"kept ({report.audit_entries_past_period} entries past their period, never "
            "deleted automatically)"
        )
