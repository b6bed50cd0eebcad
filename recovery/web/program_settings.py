"""The program's settings as a dashboard page, for its supervisors (any other staff
member gets 404, as for anything out of reach on the dashboard). The same write as the
API's PATCH (`recovery.services.program_settings`): validated, audited, at once."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from backend.errors import ServiceError
from recovery.models import User
from recovery.selectors.access import may_change_program_settings
from recovery.selectors.program_settings import program_settings
from recovery.services.audit import RequestMeta
from recovery.services.program_settings import MAX_REMINDERS, program_settings_update
from recovery.web.forms import add_service_error
from recovery.web.views import _base_context, _user, staff_required

TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class OffsetsField(forms.CharField):
    """Minutes before a session, written as "1440, 60"."""

    def to_python(self, value: Any) -> list[int]:  # type: ignore[override]
        text = super().to_python(value) or ""
        parts = [part.strip() for part in text.split(",") if part.strip()]
        if len(parts) > MAX_REMINDERS:
            raise forms.ValidationError(f"At most {MAX_REMINDERS} reminders.")
        if not all(part.isdigit() and len(part) <= 6 for part in parts):
            raise forms.ValidationError("Whole numbers of minutes, separated by commas.")
        return [int(part) for part in parts]

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(str(v) for v in value) if isinstance(value, list) else value


class ProgramSettingsForm(forms.Form):
    """Every setting; the ranges and rules are the service's (errors come back by field)."""

    reminder_offsets_minutes = OffsetsField(
        label="Session reminders (minutes before, comma-separated)", max_length=60, required=False
    )
    checkin_opens_at = forms.TimeField(label="Check-in window opens", widget=TIME)
    checkin_due_by = forms.TimeField(label="Check-in due by", widget=TIME)
    checkin_grace_minutes = forms.IntegerField(label="Grace after due (minutes)", min_value=0)
    nudge_before_due_minutes = forms.IntegerField(label="Nudge before due (minutes)", min_value=0)
    quiet_start = forms.TimeField(label="Quiet hours start", widget=TIME, required=False)
    quiet_end = forms.TimeField(label="Quiet hours end", widget=TIME, required=False)
    craving_threshold = forms.IntegerField(label="Craving flag threshold (1 to 10)", min_value=0)
    app_silent_after_days = forms.IntegerField(label="App silent after (days)", min_value=0)
    escalation_delay_minutes = forms.IntegerField(
        label="Escalate an unacknowledged flag after (minutes)", min_value=0
    )
    crisis_escalation_delay_minutes = forms.IntegerField(
        label="Escalate an unacknowledged crisis flag after (minutes)", min_value=0
    )
    required_hours_per_week = forms.DecimalField(
        label="Required hours per week", max_digits=4, decimal_places=1
    )
    days_per_week = forms.IntegerField(label="Program days per week", min_value=0)
    service_day_min_hours = forms.DecimalField(
        label="Hours that make a service day (0.5 to 12)", max_digits=3, decimal_places=1
    )
    service_week_min_days = forms.IntegerField(
        label="Service days that make a week qualify (1 to 7)", min_value=0
    )
    require_staff_2fa = forms.BooleanField(label="Staff sign in with two-factor", required=False)
    missed_dose_days = forms.IntegerField(label="Missed doses in a row before a flag", min_value=0)
    unreported_dose_counts_as_missed = forms.BooleanField(
        label="An unreported dose counts as missed", required=False
    )
    suggestion_window_days = forms.IntegerField(
        label="Stage suggestions look back (days)", min_value=0
    )
    suggestion_min_checkin_adherence = forms.DecimalField(
        label="Check-in adherence a step down needs (0.1 to 1)", max_digits=3, decimal_places=2
    )
    step_up_use_events = forms.IntegerField(label="Use events before a step up", min_value=0)

    SECTIONS = (
        ("Sessions", ("reminder_offsets_minutes",)),
        (
            "Check-ins of new patients",
            ("checkin_opens_at", "checkin_due_by", "checkin_grace_minutes"),
        ),
        ("Reminders and quiet hours", ("nudge_before_due_minutes", "quiet_start", "quiet_end")),
        (
            "Flags",
            (
                "craving_threshold",
                "app_silent_after_days",
                "escalation_delay_minutes",
                "crisis_escalation_delay_minutes",
            ),
        ),
        ("Program", ("required_hours_per_week", "days_per_week", "require_staff_2fa")),
        ("Billing (IOP service days)", ("service_day_min_hours", "service_week_min_days")),
        (
            "Monitoring",
            (
                "missed_dose_days",
                "unreported_dose_counts_as_missed",
                "suggestion_window_days",
                "suggestion_min_checkin_adherence",
                "step_up_use_events",
            ),
        ),
    )

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]


def _supervisor(request: HttpRequest) -> User:
    user = _user(request)
    if user.program is None or not may_change_program_settings(user, user.program_id):
        raise Http404
    return user


@require_http_methods(["GET", "HEAD", "POST"])
@staff_required
def program_settings_page(request: HttpRequest) -> HttpResponse:
    user = _supervisor(request)
    assert user.program is not None
    status = 200
    if request.method == "POST":
        form = ProgramSettingsForm(request.POST)
        if form.is_valid():
            try:
                program_settings_update(
                    program=user.program,
                    actor=user,
                    data=form.cleaned_data,
                    meta=RequestMeta.of(request),
                )
            except ServiceError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, "Settings saved.")
                return redirect(reverse("dashboard:settings"))
        status = 400
    else:
        form = ProgramSettingsForm(initial=program_settings(user.program))
    context = {**_base_context(request, "settings"), "form": form}
    return render(request, "dashboard/program_settings.html", context, status=status)
