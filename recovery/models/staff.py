"""Invitations of staff into a program: a one-time link, only its hash stored."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from recovery.models.accounts import Program, Role


class StaffInvitation(models.Model):
    """A supervisor's invitation of a counselor or supervisor into their program. The
    invitee follows a link with the token (only its SHA-256 is kept), sets a password and,
    where the program requires it, enrols an authenticator; the link then never works
    again. Reissuing replaces the token (the old link stops working); revoking ends it."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(
        max_length=16, choices=[(Role.COUNSELOR, "Counselor"), (Role.SUPERVISOR, "Supervisor")]
    )
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    # The authenticator secret offered on the acceptance page (hex, as django-otp keeps
    # it), kept until the invitee confirms a first code with it.
    totp_key = models.CharField(max_length=80, blank=True)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="staff_invitation",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One open invitation per address in a program: reissue it instead.
            models.UniqueConstraint(
                fields=["program", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Invitation {self.pk}"
