"""Staff of a program, managed by its supervisors (`may_manage_staff`): invitations by
email (a one-time link that sets a password and, where the program requires it, an
authenticator), and deactivation (every sign-in of the account ends at once: the
`deactivated_user_signed_out` receiver revokes its tokens and closes its sockets after
the commit). Every change is in the program's audit trail; the mail carries no PHI.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from base64 import b32encode
from binascii import unhexlify
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from backend.errors import Conflict, NotAllowed, ServiceError
from recovery.models import AuditEntry, Role, StaffInvitation, User
from recovery.selectors.access import STAFF_ROLES, may_manage_staff
from recovery.services.audit import RequestMeta, audit_record_program
from recovery.services.flag_handover import flags_unassign_from

INVITATION_LIFETIME = timedelta(hours=getattr(settings, "STAFF_INVITATION_HOURS", 72))
# The acceptance page's link for a raw token (the view knows the host and the route).
LinkFor = Callable[[str], str]
# Called after the commit when the invitation mail could not be handed to the mail server.
MailFailed = Callable[[], None]
logger = logging.getLogger(__name__)


class InvitationUnusable(ServiceError):
    """The link cannot be used (any more): unknown, used, revoked or expired."""

    code = "invitation_unusable"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    raw = secrets.token_urlsafe(32)
    return raw, hash_token(raw)


def _check_manager(actor: User, program_id: int) -> None:
    if not may_manage_staff(actor, program_id):
        raise NotAllowed(message="Only the program's supervisors manage its staff.")


def _send_invitation(
    *, invitation: StaffInvitation, link: str, on_mail_failure: MailFailed | None
) -> None:
    """After commit: the link, the role and the program's name; nothing about patients.
    A mail server that fails leaves the invitation in place (it can be reissued): it is
    logged by id only and `on_mail_failure` tells the caller."""
    role = "supervisor" if invitation.role == Role.SUPERVISOR else "counselor"
    hours = int(INVITATION_LIFETIME.total_seconds() // 3600)
    body = (
        f"You have been invited to join {invitation.program.name} as a {role} on the "
        f"program's dashboard.\n\nChoose your password here (the link works once and "
        f"expires in {hours} hours):\n{link}\n\n"
        "If you did not expect this, ignore this message."
    )
    recipient = invitation.email
    invitation_id = invitation.id

    def send() -> None:
        try:
            send_mail(
                "Your invitation to the program dashboard",
                body,
                settings.DEFAULT_FROM_EMAIL,
                [recipient],
            )
        except OSError as exc:  # smtplib's errors and timeouts are OSErrors
            # The class only: a server's message may quote the address.
            logger.warning(
                "staff invitation mail not sent",
                extra={"invitation_id": invitation_id, "error": type(exc).__name__},
            )
            if on_mail_failure is not None:
                on_mail_failure()

    transaction.on_commit(send)


def invitation_problems(*, program_id: int, email: str, role: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if role not in STAFF_ROLES:
        errors["role"] = ["Invite a counselor or a supervisor."]
    # Only this program's own staff are looked at: whether an address has an account
    # elsewhere (a patient's, another program's) is not this supervisor's to learn.
    if User.objects.filter(
        program_id=program_id, role__in=STAFF_ROLES, email__iexact=email
    ).exists():
        errors["email"] = ["A staff member of this program has this email already."]
    elif StaffInvitation.objects.filter(
        program_id=program_id,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    ).exists():
        errors["email"] = ["This address has an open invitation: reissue it instead."]
    return errors


def _audit(actor: User, action: str, invitation: StaffInvitation, meta: RequestMeta) -> None:
    audit_record_program(
        actor=actor,
        action=action,
        resource=f"staff_invitation/{invitation.id}",
        program_id=invitation.program_id,
        meta=meta,
        changes={"role": {"old": None, "new": invitation.role}},
    )


def staff_invite(
    *,
    actor: User,
    email: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    link_for: LinkFor,
    meta: RequestMeta,
    on_mail_failure: MailFailed | None = None,
) -> StaffInvitation:
    """Invite someone into the actor's program by email."""
    program_id = actor.program_id
    if program_id is None:
        raise NotAllowed(message="Only the program's supervisors manage its staff.")
    _check_manager(actor, program_id)
    email = email.strip().lower()
    errors = invitation_problems(program_id=program_id, email=email, role=role)
    if errors:
        raise ServiceError(errors)
    raw, digest = _new_token()
    try:
        with transaction.atomic():
            invitation = StaffInvitation.objects.create(
                program_id=program_id,
                email=email,
                role=role,
                first_name=first_name.strip(),
                last_name=last_name.strip(),
                token_hash=digest,
                # Made with the link, so that viewing the acceptance page (a mail scanner's
                # GET, two tabs) only reads it and every view shows the same secret.
                totp_key=random_hex(20),
                expires_at=timezone.now() + INVITATION_LIFETIME,
                created_by=actor,
            )
            _audit(actor, AuditEntry.Action.CREATE, invitation, meta)
            _send_invitation(
                invitation=invitation, link=link_for(raw), on_mail_failure=on_mail_failure
            )
    except IntegrityError as exc:  # the same address invited at the same moment
        raise Conflict({"email": ["This address has an open invitation."]}) from exc
    return invitation


def _check_open(invitation: StaffInvitation) -> None:
    if invitation.accepted_at is not None:
        raise Conflict(message="This invitation was accepted already.")
    if invitation.revoked_at is not None:
        raise Conflict(message="This invitation was revoked.")


@transaction.atomic
def invitation_reissue(
    *,
    actor: User,
    invitation: StaffInvitation,
    link_for: LinkFor,
    meta: RequestMeta,
    on_mail_failure: MailFailed | None = None,
) -> StaffInvitation:
    """A new link with a new expiry, mailed again; the old link stops working."""
    _check_manager(actor, invitation.program_id)
    invitation = StaffInvitation.objects.select_for_update().get(id=invitation.id)
    _check_open(invitation)
    raw, digest = _new_token()
    invitation.token_hash = digest
    invitation.totp_key = random_hex(20)
    invitation.expires_at = timezone.now() + INVITATION_LIFETIME
    invitation.save(update_fields=["token_hash", "totp_key", "expires_at"])
    _audit(actor, AuditEntry.Action.UPDATE, invitation, meta)
    _send_invitation(invitation=invitation, link=link_for(raw), on_mail_failure=on_mail_failure)
    return invitation


@transaction.atomic
def invitation_revoke(
    *, actor: User, invitation: StaffInvitation, meta: RequestMeta
) -> StaffInvitation:
    _check_manager(actor, invitation.program_id)
    invitation = StaffInvitation.objects.select_for_update().get(id=invitation.id)
    _check_open(invitation)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    _audit(actor, AuditEntry.Action.DELETE, invitation, meta)
    return invitation


# --- the invitee -------------------------------------------------------------------------


def invitation_for_token(raw: str) -> StaffInvitation:
    """The invitation a link names, if it can still be used; else why not."""
    invitation = (
        StaffInvitation.objects.select_related("program").filter(token_hash=hash_token(raw)).first()
    )
    if invitation is None:
        raise InvitationUnusable(message="This invitation link is not valid.")
    if invitation.accepted_at is not None:
        raise InvitationUnusable(message="This invitation link was used already.")
    if invitation.revoked_at is not None:
        raise InvitationUnusable(message="This invitation was withdrawn.")
    if invitation.expires_at <= timezone.now():
        raise InvitationUnusable(
            message="This invitation link has expired. Ask your supervisor for a new one."
        )
    return invitation


def invitation_totp_key(invitation: StaffInvitation) -> str:
    """The authenticator secret the acceptance page offers (made with the link)."""
    if not invitation.totp_key:  # an invitation sent before secrets came with links
        StaffInvitation.objects.filter(id=invitation.id, totp_key="").update(
            totp_key=random_hex(20)
        )
        invitation.refresh_from_db(fields=["totp_key"])
    return invitation.totp_key


def invitation_otpauth_url(invitation: StaffInvitation, username: str) -> str:
    """The otpauth:// URL of the invitation's secret, for an authenticator app."""
    device = TOTPDevice(user=User(username=username), key=invitation_totp_key(invitation))
    return str(device.config_url)


def invitation_secret_b32(invitation: StaffInvitation) -> str:
    """The same secret as the invitee types it into an authenticator by hand."""
    return b32encode(unhexlify(invitation_totp_key(invitation))).decode()


def _otp_step(key: str, code: str) -> int | None:
    """The time step whose code `code` is (this one or a neighbour, for clock skew)."""
    if not code.isdigit():
        return None
    device = TOTPDevice(key=key)
    for drift in (0, -1, 1):
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, drift)
        if totp.token() == int(code):
            return int(totp.t())
    return None


def acceptance_problems(
    *,
    invitation: StaffInvitation,
    username: str | None,
    password: str | None,
    otp: str | None,
) -> dict[str, list[str]]:
    """The rules of accepting, by field, on whichever fields are given."""
    errors: dict[str, list[str]] = {}
    if username is not None and User.objects.filter(username__iexact=username).exists():
        errors["username"] = ["This username is taken."]
    if password is not None:
        candidate = User(
            username=username or "",
            email=invitation.email,
            first_name=invitation.first_name,
            last_name=invitation.last_name,
        )
        try:
            validate_password(password, candidate)
        except ValidationError as exc:
            errors["password"] = [str(m) for m in exc.messages]
    if invitation.program.require_staff_2fa:
        key = invitation.totp_key
        if not otp or not key or _otp_step(key, otp) is None:
            errors["otp"] = ["Enter the current 6-digit code from your authenticator."]
    return errors


def invitation_accept(
    *, raw_token: str, username: str, password: str, otp: str = "", meta: RequestMeta | None = None
) -> User:
    """The invitee's account, made from the invitation, which then never works again.
    Where the program requires two-factor sign-in the account is made with its
    authenticator already confirmed, so it is usable at once and only with it."""
    with transaction.atomic():
        found = invitation_for_token(raw_token)
        invitation = (
            StaffInvitation.objects.select_for_update().select_related("program").get(id=found.id)
        )
        invitation_for_token(raw_token)  # again, under the lock: used at most once
        errors = acceptance_problems(
            invitation=invitation, username=username, password=password, otp=otp or None
        )
        if errors:
            raise ServiceError(errors)
        user = User(
            username=username,
            email=invitation.email,
            first_name=invitation.first_name,
            last_name=invitation.last_name,
            role=invitation.role,
            program_id=invitation.program_id,
        )
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError as exc:  # the same username taken at the same moment
            raise ServiceError({"username": ["This username is taken."]}) from exc
        if invitation.program.require_staff_2fa:
            # The code just used counts as used: it cannot sign in a second time.
            TOTPDevice.objects.create(
                user=user,
                name="authenticator",
                key=invitation.totp_key,
                confirmed=True,
                last_t=_otp_step(invitation.totp_key, otp) or -1,
            )
        invitation.accepted_at = timezone.now()
        invitation.accepted_user = user
        invitation.totp_key = ""
        invitation.save(update_fields=["accepted_at", "accepted_user", "totp_key"])
        audit_record_program(
            actor=user,
            action=AuditEntry.Action.CREATE,
            resource=f"staff/{user.id}",
            program_id=invitation.program_id,
            meta=meta or RequestMeta(),
            changes={"invitation": {"old": None, "new": invitation.id}},
        )
    return user


# --- deactivation ------------------------------------------------------------------------


def _set_active(*, actor: User, staff: User, active: bool, meta: RequestMeta) -> User:
    _check_manager(actor, staff.program_id or 0)
    if staff.role not in STAFF_ROLES:
        raise NotAllowed(message="Only staff accounts are managed here.")
    if staff.id == actor.id:
        raise Conflict(message="You cannot deactivate or reactivate your own account.")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(id=staff.id)
        if locked.is_active == active:
            return locked
        locked.is_active = active
        # update_fields names is_active: the receiver ends every sign-in after the commit.
        locked.save(update_fields=["is_active"])
        audit_record_program(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            resource=f"staff/{locked.id}",
            program_id=locked.program_id or 0,
            meta=meta,
            changes={"is_active": {"old": not active, "new": active}},
        )
        if not active:
            _withdraw_invitations_of(locked, actor=actor, meta=meta)
            flags_unassign_from(staff=locked, actor=actor, meta=meta)
    return locked


def _withdraw_invitations_of(staff: User, *, actor: User, meta: RequestMeta) -> None:
    """Whom a deactivated supervisor invited does not join on their word any more (the
    account may have been deactivated for having been taken over)."""
    now = timezone.now()
    for invitation in StaffInvitation.objects.select_for_update().filter(
        created_by=staff, accepted_at__isnull=True, revoked_at__isnull=True
    ):
        invitation.revoked_at = now
        invitation.save(update_fields=["revoked_at"])
        _audit(actor, AuditEntry.Action.DELETE, invitation, meta)


def staff_deactivate(*, actor: User, staff: User, meta: RequestMeta) -> User:
    """The account is disabled: its tokens are refused and its sockets close at once."""
    return _set_active(actor=actor, staff=staff, active=False, meta=meta)


def staff_reactivate(*, actor: User, staff: User, meta: RequestMeta) -> User:
    """The account signs in again (with a fresh sign-in; nothing of before comes back)."""
    return _set_active(actor=actor, staff=staff, active=True, meta=meta)


def accept_link_for(request: HttpRequest) -> LinkFor:
    """Links to the dashboard's acceptance page on the host the supervisor used."""
    return lambda raw: request.build_absolute_uri(
        reverse("dashboard:staff-accept", kwargs={"token": raw})
    )
