"""The program's staff on the dashboard, for its supervisors (any other staff member gets
404, as for anything out of reach here): the accounts and open invitations, inviting by
email, deactivating (the page then lists the caseload to reassign), and a patient's care
team. The invitee's acceptance page is public: the token in its URL is the credential.
The same services as the API (`recovery.services.staff`, `.care_team`)."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from backend.errors import Conflict, ServiceError
from recovery.models import Role, StaffInvitation, User
from recovery.selectors.access import assignable_staff, may_manage_staff, visible_enrollment
from recovery.selectors.staff import (
    care_team,
    invitation_row,
    open_invitations,
    staff_account,
    staff_accounts,
    staff_caseload,
    staff_row,
)
from recovery.services import staff as staff_services
from recovery.services.audit import RequestMeta
from recovery.services.care_team import MAX_CARE_TEAM, care_team_set
from recovery.web.forms import BoundedModelMultipleChoiceField, StaffChoiceField, add_service_error
from recovery.web.views import _base_context, _user, staff_required

UTC = zoneinfo.ZoneInfo("UTC")


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254, label="Email")
    role = forms.ChoiceField(
        choices=[(Role.COUNSELOR, "Counselor"), (Role.SUPERVISOR, "Supervisor")], label="Role"
    )
    first_name = forms.CharField(max_length=150, required=False, label="First name")
    last_name = forms.CharField(max_length=150, required=False, label="Last name")


class MemberChoiceField(BoundedModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        name = f"{obj.first_name} {obj.last_name}".strip() or obj.username
        return name if obj.is_active else f"{name} (deactivated)"


class CareTeamForm(forms.Form):
    primary_counselor = StaffChoiceField(queryset=User.objects.none(), label="Primary counselor")
    members = MemberChoiceField(
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Care team",
    )

    def __init__(self, *args: Any, enrollment: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        active = assignable_staff(program_id=enrollment.program_id)
        current = User.objects.filter(care_team_memberships__enrollment_id=enrollment.id)
        primary = self.fields["primary_counselor"]
        members = self.fields["members"]
        assert isinstance(primary, StaffChoiceField)
        assert isinstance(members, MemberChoiceField)
        primary.queryset = active
        # Members who were deactivated stay listed (to be taken off), never offered anew.
        members.queryset = (active | current).distinct().order_by("last_name", "first_name", "id")


def _supervisor(request: HttpRequest) -> User:
    user = _user(request)
    if not may_manage_staff(user):
        raise Http404
    return user


def _staff_page(request: HttpRequest, form: InviteForm, status: int = 200) -> HttpResponse:
    user = _supervisor(request)
    context = {
        **_base_context(request, "staff"),
        "staff": [staff_row(s) for s in staff_accounts(user)],
        "invitations": [invitation_row(i) for i in open_invitations(user)],
        "form": form,
    }
    return render(request, "dashboard/staff.html", context, status=status)


@require_safe
@staff_required
def staff_page(request: HttpRequest) -> HttpResponse:
    return _staff_page(request, InviteForm())


MAIL_FAILED = (
    "The invitation mail to {email} could not be sent (the mail server failed). "
    "The invitation stands: reissue it to send the link again."
)


@require_POST
@staff_required
def staff_invite(request: HttpRequest) -> HttpResponse:
    user = _supervisor(request)
    form = InviteForm(request.POST)
    if form.is_valid():
        mail_failed: list[bool] = []
        try:
            staff_services.staff_invite(
                actor=user,
                link_for=staff_services.accept_link_for(request),
                meta=RequestMeta.of(request),
                on_mail_failure=lambda: mail_failed.append(True),
                **form.cleaned_data,
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            email = form.cleaned_data["email"]
            if mail_failed:
                messages.warning(request, MAIL_FAILED.format(email=email))
            else:
                messages.success(request, f"Invitation sent to {email}.")
            return redirect(reverse("dashboard:staff"))
    return _staff_page(request, form, status=400)


def _open_invitation(user: User, pk: int) -> StaffInvitation:
    invitation = open_invitations(user).filter(id=pk).first()
    if invitation is None:
        raise Http404
    return invitation


def _refused(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    """The staff page again with why (accepted or withdrawn meanwhile, in another tab)."""
    for message in exc.messages():
        messages.error(request, message)
    return _staff_page(request, InviteForm(), status=409 if isinstance(exc, Conflict) else 400)


@require_POST
@staff_required
def invitation_reissue(request: HttpRequest, pk: int) -> HttpResponse:
    user = _supervisor(request)
    mail_failed: list[bool] = []
    try:
        invitation = staff_services.invitation_reissue(
            actor=user,
            invitation=_open_invitation(user, pk),
            link_for=staff_services.accept_link_for(request),
            meta=RequestMeta.of(request),
            on_mail_failure=lambda: mail_failed.append(True),
        )
    except ServiceError as exc:
        return _refused(request, exc)
    if mail_failed:
        messages.warning(request, MAIL_FAILED.format(email=invitation.email))
    else:
        messages.success(request, f"A new link was sent to {invitation.email}.")
    return redirect(reverse("dashboard:staff"))


@require_POST
@staff_required
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user = _supervisor(request)
    try:
        invitation = staff_services.invitation_revoke(
            actor=user, invitation=_open_invitation(user, pk), meta=RequestMeta.of(request)
        )
    except ServiceError as exc:
        return _refused(request, exc)
    messages.success(request, f"The invitation of {invitation.email} was withdrawn.")
    return redirect(reverse("dashboard:staff"))


def _account(user: User, pk: int) -> User:
    staff = staff_account(user, pk)
    if staff is None:
        raise Http404
    return staff


@require_safe
@staff_required
def staff_member_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One account: its state and the patients it cares for (to reassign)."""
    user = _supervisor(request)
    staff = _account(user, pk)
    context = {
        **_base_context(request, "staff"),
        "member": staff_row(staff),
        "caseload": staff_caseload(user, staff),
        "is_self": staff.id == user.id,
    }
    return render(request, "dashboard/staff_member.html", context)


def _set_active(request: HttpRequest, pk: int, *, active: bool) -> HttpResponse:
    user = _supervisor(request)
    staff = _account(user, pk)
    change = staff_services.staff_reactivate if active else staff_services.staff_deactivate
    try:
        change(actor=user, staff=staff, meta=RequestMeta.of(request))
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        name = staff_row(staff)["name"]
        messages.success(request, f"{name} was {'reactivated' if active else 'deactivated'}.")
    return redirect(reverse("dashboard:staff-member", args=[pk]))


@require_POST
@staff_required
def staff_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_active(request, pk, active=False)


@require_POST
@staff_required
def staff_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_active(request, pk, active=True)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_required
def care_team_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A patient's care team and primary counselor, set by a supervisor."""
    user = _supervisor(request)
    enrollment = visible_enrollment(user, pk)
    status = 200
    if request.method == "POST":
        form = CareTeamForm(request.POST, enrollment=enrollment)
        if form.is_valid():
            try:
                care_team_set(
                    actor=user,
                    enrollment=enrollment,
                    member_ids=[m.id for m in form.cleaned_data["members"]],
                    primary_id=form.cleaned_data["primary_counselor"].id,
                    meta=RequestMeta.of(request),
                )
            except ServiceError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, "Care team saved.")
                return redirect(reverse("dashboard:care-team", args=[pk]))
        status = 400
    else:
        team = care_team(enrollment)
        form = CareTeamForm(
            enrollment=enrollment,
            initial={
                "primary_counselor": team["primary_counselor"],
                "members": [m["id"] for m in team["members"]],
            },
        )
    context = {
        **_base_context(request, "staff"),
        "enrollment": enrollment,
        "patient_name": enrollment.patient.get_full_name() or f"Patient {enrollment.id}",
        "form": form,
        "max_team": MAX_CARE_TEAM,
    }
    return render(request, "dashboard/care_team.html", context, status=status)


# --- the invitee ----------------------------------------------------------------------


class AcceptForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z",
        max_length=150,
        label="Username",
        error_messages={"invalid": "Letters, digits and @ . + - _ only."},
    )
    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False), max_length=128, strip=False
    )
    password_again = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        max_length=128,
        strip=False,
        label="Password again",
    )
    otp = forms.RegexField(regex=r"^\d{6}$", required=False, label="Authenticator code")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("password") and cleaned.get("password") != cleaned.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return cleaned


def _accept_page(
    request: HttpRequest, invitation: StaffInvitation, form: AcceptForm, status: int = 200
) -> HttpResponse:
    needs_2fa = invitation.program.require_staff_2fa
    username = form.data.get("username") or invitation.email
    context = {
        "tz": zoneinfo.ZoneInfo(invitation.program.timezone),
        "invitation": invitation,
        "form": form,
        "needs_2fa": needs_2fa,
        "otpauth_url": (
            staff_services.invitation_otpauth_url(invitation, str(username)) if needs_2fa else ""
        ),
        "totp_secret": staff_services.invitation_secret_b32(invitation) if needs_2fa else "",
    }
    return render(request, "dashboard/staff_accept.html", context, status=status)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = staff_services.invitation_for_token(token)
    except staff_services.InvitationUnusable as exc:
        context = {"tz": UTC, "problem": exc.message}
        return render(request, "dashboard/staff_accept.html", context, status=410)
    if request.method != "POST":
        return _accept_page(request, invitation, AcceptForm())
    form = AcceptForm(request.POST)
    if form.is_valid():
        try:
            staff_services.invitation_accept(
                raw_token=token,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                otp=form.cleaned_data.get("otp") or "",
                meta=RequestMeta.of(request),
            )
        except staff_services.InvitationUnusable as exc:
            context = {"tz": UTC, "problem": exc.message}
            return render(request, "dashboard/staff_accept.html", context, status=410)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, "Your account is ready. Sign in.")
            return redirect(reverse("dashboard:login"))
    return _accept_page(request, invitation, form, status=400)
