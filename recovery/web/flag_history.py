"""The flag queue's history: resolved flags with who resolved them, when and why, each with
a reopen action (`recovery.web.actions.flag_reopen`). Same reach as the open queue
(`flags_visible_to`); reading it is audited by the selector like every flag read."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from backend.bounds import date_in_range
from recovery.models import Flag, FlagKind, FlagStatus, Severity, User
from recovery.selectors.access import assignable_staff, flags_visible_to
from recovery.web.forms import StaffChoiceField
from recovery.web.views import _base_context, _user, staff_required

HISTORY_LIMIT = 200


class FlagHistoryFilterForm(forms.Form):
    """The history's filters (GET): what, how severe, resolved by whom, and when (local
    dates of the program)."""

    kind = forms.ChoiceField(label="Kind", required=False, choices=[("", "Any"), *FlagKind.choices])
    severity = forms.TypedChoiceField(
        label="Severity",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any"), *[(s.value, s.label) for s in reversed(Severity)]],
    )
    resolved_by = StaffChoiceField(
        label="Resolved by", required=False, queryset=User.objects.none(), empty_label="Anyone"
    )
    since = forms.DateField(
        label="Resolved from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="Resolved until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, program_id: int | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["resolved_by"]
        assert isinstance(field, StaffChoiceField)
        field.queryset = assignable_staff(program_id=program_id)

    def clean_since(self) -> date | None:
        return self._in_range("since")

    def clean_until(self) -> date | None:
        return self._in_range("until")

    def _in_range(self, name: str) -> date | None:
        value: date | None = self.cleaned_data.get(name)
        if value is not None and not date_in_range(value):
            raise forms.ValidationError("Give a date between the years 1900 and 9998.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", "Give a date on or after the first one.")
        return cleaned


def resolved_flags(
    *,
    user: User,
    zone: zoneinfo.ZoneInfo,
    kind: str = "",
    severity: int | None = None,
    resolved_by: User | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = HISTORY_LIMIT,
) -> list[Flag]:
    """Resolved flags the user may see, most recently resolved first; `since` and `until`
    are local dates in `zone` (both included)."""
    flags: QuerySet[Flag] = flags_visible_to(user).filter(status=FlagStatus.RESOLVED)
    if kind:
        flags = flags.filter(kind=kind)
    if severity is not None:
        flags = flags.filter(severity=severity)
    if resolved_by is not None:
        flags = flags.filter(resolved_by=resolved_by)
    if since is not None:
        flags = flags.filter(resolved_at__gte=datetime.combine(since, time.min, tzinfo=zone))
    if until is not None:
        end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone)
        flags = flags.filter(resolved_at__lt=end)
    flags = flags.select_related(
        "enrollment__patient", "resolved_by", "acknowledged_by", "assigned_to"
    )
    return list(flags.order_by("-resolved_at", "-id")[:limit])


@require_safe
@staff_required
def flag_history_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    base = _base_context(request, "flags")
    filters = FlagHistoryFilterForm(request.GET, program_id=user.program_id)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    flags = resolved_flags(
        user=user,
        zone=base["tz"],
        kind=chosen.get("kind") or "",
        severity=chosen.get("severity"),
        resolved_by=chosen.get("resolved_by"),
        since=chosen.get("since"),
        until=chosen.get("until"),
    )
    filtered = any(chosen.get(name) for name in filters.fields)
    return render(
        request,
        "dashboard/flag_history.html",
        {
            **base,
            "flags": flags,
            "filters": filters,
            "filtered": filtered,
            "limited": len(flags) == HISTORY_LIMIT,
            "limit": HISTORY_LIMIT,
            "next_url": request.get_full_path(),
        },
        status=200 if filters.is_valid() else 400,
    )
