"""Forms of the dashboard: sign-in for staff, and the small action forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp.models import TOTPDevice

from backend.bounds import MAX_ID, id_text_in_range
from backend.errors import ServiceError
from recovery.models import (
    AttendanceStatus,
    Enrollment,
    Flag,
    FlagKind,
    FlagResolution,
    Severity,
    TreatmentSession,
    User,
)
from recovery.selectors.access import (
    assignable_staff,
    is_program_staff,
    requires_second_factor,
    roll_patient,
)
from recovery.services.flags import flag_reopen_problems, flag_resolve_problems
from recovery.services.sessions import attendance_problems


class StaffAuthenticationForm(AuthenticationForm):
    """Only counselors and supervisors sign in here. Anyone else gets the same answer as
    a wrong password, so the form does not tell who is a patient."""

    otp = forms.RegexField(
        regex=r"^\d{6}$", required=False, label=gettext_lazy("Authenticator code")
    )

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not is_program_staff(user):
            raise self.get_invalid_login_error()
        # The program's two-factor rule holds here as in the API (recovery/api/auth.py).
        if not requires_second_factor(user):
            return
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            raise forms.ValidationError(
                _(
                    "Your program requires two-factor sign-in. Set up an authenticator first "
                    "(POST /api/v1/auth/totp/setup/) or ask your supervisor."
                ),
                code="otp_setup_required",
            )
        code = self.cleaned_data.get("otp")
        if not code or not device.verify_token(code):
            raise forms.ValidationError(
                _("Enter the current 6-digit code from your authenticator."), code="otp_invalid"
            )


class FlagFilterForm(forms.Form):
    """The flag queue's filters (GET): whose, how severe, what kind."""

    assigned = forms.ChoiceField(
        label="Assigned to",
        required=False,
        choices=[("", "Anyone"), ("me", "Me"), ("nobody", "Nobody")],
    )
    severity = forms.TypedChoiceField(
        label="Severity",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any"), *[(s.value, s.label) for s in reversed(Severity)]],
    )
    kind = forms.ChoiceField(label="Kind", required=False, choices=[("", "Any"), *FlagKind.choices])
    escalated = forms.BooleanField(label="Escalated only", required=False)


def add_service_error(form: forms.Form, exc: ServiceError) -> None:
    """A domain refusal as the form's own errors: on the field it blames when the form has
    that field, else on the form as a whole."""
    if not exc.fields:
        form.add_error(None, exc.message)
    for name, messages in exc.fields.items():
        form.add_error(name if name in form.fields else None, messages)


def add_problems(form: forms.Form, problems: dict[str, list[str]]) -> None:
    """A service's `*_problems` as form errors beside the fields' own, so one answer names
    every problem; a field that did not parse already says why."""
    for name, messages in problems.items():
        field = name if name in form.fields else None
        if field is None or field not in form.errors:
            form.add_error(field, messages)


class BoundedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Ids outside the id range are a field error before the query: `pk__in` with a number
    past 64 bits raises OverflowError on SQLite (the exact lookup is guarded; IN is not)."""

    def clean(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            for raw in value:
                if not id_text_in_range(str(raw)):
                    raise forms.ValidationError(
                        self.error_messages["invalid_choice"],
                        code="invalid_choice",
                        params={"value": raw},
                    )
        return super().clean(value)


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        name = f"{obj.first_name} {obj.last_name}".strip()
        return name or str(obj.username)


class AssignForm(forms.Form):
    assignee = StaffChoiceField(queryset=User.objects.none(), empty_label=None)

    def __init__(self, *args: Any, program_id: int | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, StaffChoiceField)
        field.queryset = assignable_staff(program_id=program_id)


class ResolveForm(forms.Form):
    outcome_note = forms.CharField(
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="What was done",
        strip=True,
    )
    resolution = forms.ChoiceField(choices=FlagResolution.choices, required=False, label="Outcome")

    def __init__(self, *args: Any, flag: Flag, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flag = flag

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        add_problems(
            self,
            flag_resolve_problems(flag=self.flag, outcome_note=cleaned.get("outcome_note")),
        )
        return cleaned


class ReopenForm(forms.Form):
    note = forms.CharField(
        max_length=4000, required=False, label="Why reopen", widget=forms.Textarea, strip=True
    )

    def __init__(self, *args: Any, flag: Flag, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flag = flag

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        add_problems(self, flag_reopen_problems(flag=self.flag))
        return cleaned


class AttendanceForm(forms.Form):
    patient = forms.IntegerField(min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=AttendanceStatus.choices)
    minutes_attended = forms.IntegerField(min_value=0, max_value=24 * 60, required=False)

    def __init__(self, *args: Any, session: TreatmentSession, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session, self.user = session, user
        self.enrollment: Enrollment | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "patient" in cleaned:
            # Out of the caller's reach is 404 before any rule reads the roll.
            self.enrollment = roll_patient(self.user, self.session, cleaned["patient"])
        add_problems(
            self,
            attendance_problems(
                session=self.session,
                enrollment_id=cleaned.get("patient"),
                status=cleaned.get("status"),
                minutes_attended=cleaned.get("minutes_attended"),
            ),
        )
        return cleaned
