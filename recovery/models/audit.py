from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class AppendOnlyQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("Audit entries are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit entries are append-only.")


class AuditEntry(models.Model):
    """One access to a patient's records: who, in what role, which patient, what, when,
    from where. Append-only: the manager refuses updates and deletes, and on PostgreSQL a
    trigger refuses them too (migration 0003), so not even a raw query rewrites the trail.
    """

    class Action(models.TextChoices):
        READ = "read", "Read"
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        DELETE = "delete", "Delete"
        EXPORT = "export", "Export"
        DISCLOSE = "disclose", "Disclose"

    # PROTECT: a user with an audit trail is deactivated, never deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_role = models.CharField(max_length=16)
    program_id = models.BigIntegerField(null=True, db_index=True)
    enrollment_id = models.BigIntegerField(null=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    resource = models.CharField(max_length=100)
    method = models.CharField(max_length=8, blank=True)
    path = models.CharField(max_length=300, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True)
    ip_address = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(db_index=True)
    # What a change of settings changed: {"field": {"old": ..., "new": ...}}.
    changes = models.JSONField(default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["enrollment_id", "-at"])]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit entries are append-only.")
