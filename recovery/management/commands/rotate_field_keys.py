"""`python manage.py rotate_field_keys`: re-encrypt every encrypted value under the first
key of FIELD_ENCRYPTION_KEYS (after putting a new key first). Safe to run again."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from recovery.encryption import EncryptedTextField

CHUNK = 500


class Command(BaseCommand):
    help = "Re-encrypt notes and contact details under the newest key."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model in apps.get_models():
            fields = [f.name for f in model._meta.fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            last_pk = 0
            while True:
                with transaction.atomic():
                    # Reading decrypts with any configured key; saving encrypts with the first.
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
        self.stdout.write(f"re-encrypted {total} rows")
