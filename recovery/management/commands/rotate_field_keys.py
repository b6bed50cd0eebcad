"""`python manage.py rotate_field_keys`: re-encrypt every encrypted value under the first
key of FIELD_ENCRYPTION_KEYS (after putting a new key first), with a progress bar. Each
chunk commits on its own; interrupted, it is safe to run again (what it already did is
simply re-encrypted under the same key)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from rich.console import Console
from rich.progress import Progress

from recovery.encryption import EncryptedTextField

CHUNK = 500


class Command(BaseCommand):
    help = "Re-encrypt notes and contact details under the newest key."

    def handle(self, *args: Any, **options: Any) -> None:
        encrypted = [
            (model, [f.name for f in model._meta.fields if isinstance(f, EncryptedTextField)])
            for model in apps.get_models()
        ]
        encrypted = [(model, fields) for model, fields in encrypted if fields]
        total = 0
        with Progress(console=Console(stderr=True)) as progress:
            for model, fields in encrypted:
                task = progress.add_task(model._meta.label, total=model._default_manager.count())
                last_pk = 0
                while True:
                    with transaction.atomic():
                        # Reading decrypts with any configured key; saving encrypts with the
                        # first.
                        rows = list(
                            model._default_manager.filter(pk__gt=last_pk)
                            .order_by("pk")
                            .only("pk", *fields)[:CHUNK]
                        )
                        if not rows:
                            break
                        model._default_manager.bulk_update(rows, fields)
                    total += len(rows)
                    last_pk = rows[-1].pk
                    progress.advance(task, len(rows))
        self.stdout.write(f"re-encrypted {total} rows")
