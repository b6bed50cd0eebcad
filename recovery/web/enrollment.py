"""Enrolling patients from the dashboard, and their enrollment afterwards: the one-time
code as text and as a QR code, a new code, discharge and readmission. The same services
as the API (`recovery.services.enrollment`) and the same reach: program staff enroll (the
API's IsClinician), and a patient's care team and the program's supervisors act on them
(`visible_enrollment`); anything else is 404.

The code is shown once, right after it is issued, like the API answers it once: the
POST puts it in the session and redirects, and the next dashboard request, whichever it
is, takes it out (`staff_required`); sign-out deletes the session. It never
travels in a URL (so never in an access log), the page is never cached
(`staff_required` sends `Cache-Control: no-store`), and the QR code is drawn inline.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import segno
from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from backend.bounds import DATE_RANGE_MESSAGE, date_in_range
from backend.errors import ServiceError
from backend.timezones import known_timezones
from recovery.dates import enrollment_start_today
from recovery.models import Enrollment, EnrollmentStatus, LevelOfCare, User
from recovery.selectors.access import assignable_staff, enrollments_visible_to, visible_enrollment
from recovery.services import enrollment as enrollment_services
from recovery.web.forms import (
    BoundedModelMultipleChoiceField,
    StaffChoiceField,
    add_problems,
    add_service_error,
)
from recovery.web.views import (
    HELD_CODE_ATTRIBUTE,
    SHOWN_CODE_SESSION_KEY,
    _base_context,
    _user,
    staff_required,
)

# What the QR code holds: a URI the app registers for, so a phone's camera can open the
# app directly; the app takes `code` and posts it to /api/v1/auth/enrollment-code/.
QR_URI_PREFIX = "iop://redeem?"
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def code_qr_payload(code: str) -> str:
    return QR_URI_PREFIX + urlencode({"code": code})


def code_qr_svg(code: str) -> SafeString:
    """The QR code as inline SVG (segno writes only its own markup: safe to embed)."""
    out = io.BytesIO()
    segno.make(code_qr_payload(code), error="m", micro=False).save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        scale=6,
        border=4,
        svgclass="qr-code",
        omitsize=True,
    )
    return mark_safe(out.getvalue().decode())  # noqa: S308


# --- forms -------------------------------------------------------------------------------


class BoundedDateField(forms.DateField):
    """The API's BoundedDateField on a form: a date in backend.bounds' range, so date
    arithmetic on it (weeks, an end 12 weeks on) cannot overflow into a 500."""

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not date_in_range(value):
            raise forms.ValidationError(DATE_RANGE_MESSAGE)


class CareTeamField(BoundedModelMultipleChoiceField):
    label_from_instance = StaffChoiceField.label_from_instance


class EnrollForm(forms.Form):
    """The API's enrollment (EnrollSerializer), with the rules of `enrollment_problems`."""

    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150, required=False)
    timezone = forms.ChoiceField(label="Time zone")
    level_of_care = forms.ChoiceField(label="Level of care (ASAM)")
    start_date = BoundedDateField(
        widget=DATE, required=False, help_text="Left empty: today, in the patient's zone."
    )
    expected_end_date = BoundedDateField(
        widget=DATE, required=False, help_text="Left empty: 12 weeks after the start."
    )
    has_medication = forms.BooleanField(label="Takes medication for addiction", required=False)
    care_team = CareTeamField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Also on the care team",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        program = user.program
        assert program is not None
        self.program = program
        zone, level = self.fields["timezone"], self.fields["level_of_care"]
        assert isinstance(zone, forms.ChoiceField)
        assert isinstance(level, forms.ChoiceField)
        zone.choices = [(z, z) for z in sorted(known_timezones())]
        zone.initial = program.timezone
        offered = program.levels_of_care or LevelOfCare.values
        level.choices = [(value, label) for value, label in LevelOfCare.choices if value in offered]
        if LevelOfCare.INTENSIVE_OUTPATIENT in offered:
            level.initial = LevelOfCare.INTENSIVE_OUTPATIENT
        team = self.fields["care_team"]
        assert isinstance(team, CareTeamField)
        team.queryset = assignable_staff(program_id=program.id).exclude(id=user.id)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start = cleaned.get("start_date")
        if start is None and "timezone" in cleaned:
            start = enrollment_start_today(self.program, cleaned["timezone"])
        add_problems(
            self,
            enrollment_services.enrollment_problems(
                program=self.program,
                level_of_care=cleaned.get("level_of_care"),
                start_date=start,
                expected_end_date=cleaned.get("expected_end_date"),
            ),
        )
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


# --- the code, shown once ----------------------------------------------------------------


def _hold_code(request: HttpRequest, enrollment: Enrollment, code: str, expires: datetime) -> None:
    request.session[SHOWN_CODE_SESSION_KEY] = {
        "enrollment": enrollment.id,
        "code": code,
        "expires_at": expires.isoformat(),
    }


def _take_code(request: HttpRequest, enrollment: Enrollment) -> dict[str, Any] | None:
    held = getattr(request, HELD_CODE_ATTRIBUTE, None)  # out of the session already
    if not isinstance(held, dict) or held.get("enrollment") != enrollment.id:
        return None
    code = str(held["code"])
    return {
        "text": code,
        "expires_at": datetime.fromisoformat(held["expires_at"]),
        "qr_svg": code_qr_svg(code),
    }


# --- pages and actions -------------------------------------------------------------------


def _enrollment_url(enrollment: Enrollment) -> str:
    return reverse("dashboard:patient-enrollment", args=[enrollment.id])


@require_http_methods(["GET", "HEAD", "POST"])
@staff_required
def enroll_page(request: HttpRequest) -> HttpResponse:
    """Enroll a patient; below the form, the discharged patients, to readmit."""
    user = _user(request)
    status = 200
    if request.method == "POST":
        form = EnrollForm(request.POST, user=user)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                enrollment, code, expires = enrollment_services.patient_enroll(
                    counselor=user,
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    timezone_name=data["timezone"],
                    level_of_care=data["level_of_care"],
                    start_date=data["start_date"],
                    expected_end_date=data["expected_end_date"],
                    has_medication=data["has_medication"],
                    care_team=list(data["care_team"]),
                )
            except ServiceError as exc:
                add_service_error(form, exc)
            else:
                _hold_code(request, enrollment, code, expires)
                # Messages may travel in a cookie: no patient's name in them.
                messages.success(request, "Enrolled. Give the patient the code below.")
                return redirect(_enrollment_url(enrollment))
        status = 400
    else:
        form = EnrollForm(user=user)
    discharged = enrollments_visible_to(user).filter(status=EnrollmentStatus.DISCHARGED)
    context = {
        **_base_context(request, "enroll"),
        "form": form,
        "discharged": discharged.order_by("patient__last_name", "patient__first_name", "id"),
    }
    return render(request, "dashboard/enroll.html", context, status=status)


def _enrollment_page(
    request: HttpRequest,
    enrollment: Enrollment,
    *,
    reason_form: ReasonForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        **_base_context(request, "enroll"),
        "enrollment": enrollment,
        "patient": enrollment.patient,
        "is_active": enrollment.status == EnrollmentStatus.ACTIVE,
        "code": _take_code(request, enrollment),
        "reason_form": reason_form or ReasonForm(),
    }
    return render(request, "dashboard/enrollment.html", context, status=status)


@require_safe
@staff_required
def enrollment_page(request: HttpRequest, pk: int) -> HttpResponse:
    return _enrollment_page(request, visible_enrollment(_user(request), pk))


@require_POST
@staff_required
def code_issue(request: HttpRequest, pk: int) -> HttpResponse:
    """A new one-time code; the patient's earlier one stops working."""
    user = _user(request)
    enrollment = visible_enrollment(user, pk)
    try:
        code, expires = enrollment_services.enrollment_code_issue(
            enrollment=enrollment, issued_by=user
        )
    except ServiceError as exc:
        for message in exc.messages():
            messages.error(request, message)
    else:
        _hold_code(request, enrollment, code, expires)
        messages.success(request, "A new code is issued. Any earlier code no longer works.")
    return redirect(_enrollment_url(enrollment))


def _status_change(request: HttpRequest, pk: int, *, readmit: bool) -> HttpResponse:
    user = _user(request)
    enrollment = visible_enrollment(user, pk)
    form = ReasonForm(request.POST)
    if form.is_valid():
        change = (
            enrollment_services.enrollment_readmit
            if readmit
            else enrollment_services.enrollment_discharge
        )
        try:
            change(enrollment=enrollment, actor=user, reason=form.cleaned_data["reason"])
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                "Readmitted. Issue a new code for the app."
                if readmit
                else "Discharged. Check-in reminders have stopped.",
            )
            return redirect(_enrollment_url(enrollment))
    enrollment.refresh_from_db()
    return _enrollment_page(request, enrollment, reason_form=form, status=400)


@require_POST
@staff_required
def discharge(request: HttpRequest, pk: int) -> HttpResponse:
    return _status_change(request, pk, readmit=False)


@require_POST
@staff_required
def readmit(request: HttpRequest, pk: int) -> HttpResponse:
    return _status_change(request, pk, readmit=True)
