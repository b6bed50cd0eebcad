"""Signal receivers: what must happen however a model is saved (admin, shell, services)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from recovery.models import User
from recovery.services.dashboard_sessions import dashboard_sessions_end
from recovery.services.tokens import tokens_revoke_user


@receiver(post_save, sender=User, dispatch_uid="recovery.deactivated_user_signed_out")
def deactivated_user_signed_out(
    sender: type[User], instance: User, created: bool, **kwargs: Any
) -> None:
    """A deactivated account is signed out everywhere at once: its tokens stop working,
    its open sockets close and its dashboard sessions are deleted (a reactivation must
    not bring them back). Deactivation has no service of its own (the admin's user
    form is where it happens), so this receiver is the one place for any save path."""
    update_fields = kwargs.get("update_fields")
    if created or instance.is_active:
        return
    if update_fields is not None and "is_active" not in update_fields:
        return
    tokens_revoke_user(user_id=instance.id)
    dashboard_sessions_end(user_id=instance.id)
