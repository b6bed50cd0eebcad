"""Forms of the week calendar's editing: a new session or weekly series, moving or cancelling
one occurrence or the rest of a series. Times are wall times of the program's zone. Each
form parses its fields and asks the services for their rules (`session_problems`,
`series_problems`, `series_*_rest_problems`); the rules themselves live there only."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import QueryDict

from backend.bounds import date_in_range
from recovery.models import Enrollment, SessionKind, SessionSeries, TreatmentSession, User
from recovery.selectors.access import assignable_staff, bookable_enrollments
from recovery.services.series import (
    series_cancel_rest_problems,
    series_move_rest_problems,
    series_problems,
)
from recovery.services.sessions import session_problems
from recovery.web.forms import BoundedModelMultipleChoiceField, StaffChoiceField, add_problems

WEEKDAYS = [
    ("MO", "Monday"),
    ("TU", "Tuesday"),
    ("WE", "Wednesday"),
    ("TH", "Thursday"),
    ("FR", "Friday"),
    ("SA", "Saturday"),
    ("SU", "Sunday"),
]
MAX_OCCURRENCES = 200


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self) -> None:
        super().__init__(format="%H:%M")


def _bounded(value: date | None) -> date | None:
    if value is not None and not date_in_range(value):
        raise forms.ValidationError("Give a date between the years 1900 and 9998.")
    return value


def _instant(day: date, at: time, zone: zoneinfo.ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)


def _minutes(start: time, end: time) -> int:
    return (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)


def _on_fields(problems: dict[str, list[str]], renames: dict[str, str]) -> dict[str, list[str]]:
    """A service's problems on this form's fields (its `starts_at` is our start time...)."""
    moved: dict[str, list[str]] = {}
    for name, messages in problems.items():
        moved.setdefault(renames.get(name, name), []).extend(messages)
    return moved


class PatientsChoiceField(BoundedModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        patient = obj.patient
        return f"{patient.first_name} {patient.last_name}".strip() or str(patient.username)


class NewSessionForm(forms.Form):
    """One session, or a weekly series when days are ticked (then `occurrences` of them)."""

    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=SessionKind.choices)
    start_date = forms.DateField(label="Date (first date of a series)", widget=DateInput())
    start_time = forms.TimeField(label="Starts", widget=TimeInput())
    end_time = forms.TimeField(label="Ends", widget=TimeInput())
    location = forms.CharField(max_length=200, required=False)
    facilitator = StaffChoiceField(queryset=User.objects.none(), required=False)
    patients = PatientsChoiceField(
        queryset=Enrollment.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    repeat_days = forms.MultipleChoiceField(
        label="Repeats weekly on",
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    occurrences = forms.IntegerField(
        label="Number of sessions in the series",
        min_value=1,
        max_value=MAX_OCCURRENCES,
        required=False,
    )

    def __init__(self, *args: Any, user: User, zone: zoneinfo.ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user, self.zone = user, zone
        staff = self.fields["facilitator"]
        patients = self.fields["patients"]
        assert isinstance(staff, StaffChoiceField)
        assert isinstance(patients, PatientsChoiceField)
        staff.queryset = assignable_staff(program_id=user.program_id)
        patients.queryset = self._bookable()

    def _bookable(self) -> QuerySet[Enrollment]:
        return bookable_enrollments(self.user).order_by(
            "patient__last_name", "patient__first_name", "id"
        )

    def clean_start_date(self) -> date | None:
        return _bounded(self.cleaned_data.get("start_date"))

    @property
    def is_series(self) -> bool:
        return bool(self.cleaned_data.get("repeat_days"))

    def rule(self) -> str:
        days = ",".join(self.cleaned_data["repeat_days"])
        return f"FREQ=WEEKLY;BYDAY={days};COUNT={self.cleaned_data['occurrences']}"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        day, start, end = (cleaned.get(k) for k in ("start_date", "start_time", "end_time"))
        if self.is_series:
            if cleaned.get("occurrences") is None and "occurrences" not in self.errors:
                self.add_error("occurrences", "Say how many sessions the series has.")
            if "occurrences" in self.errors:
                return cleaned
            problems = series_problems(
                rule=self.rule(),
                start_date=day,
                start_time=start,
                duration_minutes=_minutes(start, end) if start and end else None,
                timezone_name=str(self.zone),
            )
            renames = {"duration_minutes": "end_time", "rrule": "repeat_days"}
            add_problems(self, _on_fields(problems, renames))
        elif day and start and end:
            problems = session_problems(
                starts_at=_instant(day, start, self.zone), ends_at=_instant(day, end, self.zone)
            )
            add_problems(self, _on_fields(problems, {"ends_at": "end_time"}))
        return cleaned

    def starts_at(self) -> datetime:
        return _instant(self.cleaned_data["start_date"], self.cleaned_data["start_time"], self.zone)

    def ends_at(self) -> datetime:
        return _instant(self.cleaned_data["start_date"], self.cleaned_data["end_time"], self.zone)

    def duration_minutes(self) -> int:
        return _minutes(self.cleaned_data["start_time"], self.cleaned_data["end_time"])


class MoveSessionForm(forms.Form):
    """One occurrence to another day and time."""

    day = forms.DateField(label="New date", widget=DateInput())
    start_time = forms.TimeField(label="Starts", widget=TimeInput())
    end_time = forms.TimeField(label="Ends", widget=TimeInput())

    def __init__(
        self, data: QueryDict | None, *, session: TreatmentSession, zone: zoneinfo.ZoneInfo
    ) -> None:
        starts, ends = session.starts_at.astimezone(zone), session.ends_at.astimezone(zone)
        initial = {"day": starts.date(), "start_time": starts.time(), "end_time": ends.time()}
        super().__init__(data, initial=initial, prefix="move")
        self.session, self.zone = session, zone

    def clean_day(self) -> date | None:
        return _bounded(self.cleaned_data.get("day"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if all(cleaned.get(k) for k in ("day", "start_time", "end_time")):
            problems = session_problems(
                starts_at=self.starts_at(), ends_at=self.ends_at(), session=self.session
            )
            add_problems(self, _on_fields(problems, {"ends_at": "end_time", "status": "__all__"}))
        return cleaned

    def starts_at(self) -> datetime:
        return _instant(self.cleaned_data["day"], self.cleaned_data["start_time"], self.zone)

    def ends_at(self) -> datetime:
        return _instant(self.cleaned_data["day"], self.cleaned_data["end_time"], self.zone)


class MoveRestForm(forms.Form):
    """This occurrence and every later one of its series to a new time of day."""

    start_time = forms.TimeField(label="Starts", widget=TimeInput())
    end_time = forms.TimeField(label="Ends", widget=TimeInput())

    def __init__(self, data: QueryDict | None, *, series: SessionSeries, from_date: date) -> None:
        start = datetime.combine(from_date, series.start_time)
        end = start + timedelta(minutes=series.duration_minutes)
        initial = {"start_time": series.start_time, "end_time": end.time()}
        super().__init__(data, initial=initial, prefix="rest")
        self.series, self.from_date = series, from_date

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start_time"), cleaned.get("end_time")
        problems = series_move_rest_problems(series=self.series, from_date=self.from_date)
        if start and end:
            problems |= series_problems(duration_minutes=_minutes(start, end))
        add_problems(
            self, _on_fields(problems, {"duration_minutes": "end_time", "from_date": "__all__"})
        )
        return cleaned

    def duration_minutes(self) -> int:
        return _minutes(self.cleaned_data["start_time"], self.cleaned_data["end_time"])


class CancelRestForm(forms.Form):
    """Cancel this occurrence and every later one: a confirmation, no fields."""

    def __init__(self, data: QueryDict | None, *, from_instant: datetime) -> None:
        super().__init__(data, prefix="cancel-rest")
        self.from_instant = from_instant

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        add_problems(
            self,
            _on_fields(series_cancel_rest_problems(from_instant=self.from_instant), {}),
        )
        return cleaned
