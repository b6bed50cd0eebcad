"""Recurring sessions: RFC 5545 rules over local wall time, expanded on a rolling horizon."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

from dateutil.rrule import DAILY, rrule, rrulestr
from django.db import transaction
from django.utils import timezone

from backend.errors import ServiceError
from backend.timezones import local_today
from recovery.models import Enrollment, SessionSeries, SessionStatus, TreatmentSession, User
from recovery.services.sessions import session_cancel, session_create

SERIES_MAX_AGE = timedelta(days=366)

HORIZON = timedelta(days=28)
# "From now on", sent a moment ago, is still now.
CLOCK_SKEW = timedelta(minutes=5)
MAX_OCCURRENCES = 400


def parse_rule(rule: str, *, start: datetime) -> rrule:
    """Parse an RRULE (without DTSTART) against a naive local start."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "DTSTART" in text.upper() or "\n" in text:
        raise ServiceError({"rrule": ["Give only the RRULE; the start is a separate field."]})
    try:
        parsed = rrulestr(text, dtstart=start)
    except (ValueError, TypeError) as exc:
        raise ServiceError({"rrule": [f"Not a valid RFC 5545 rule: {exc}"]}) from None
    if not isinstance(parsed, rrule):
        raise ServiceError({"rrule": ["Give a single rule."]})
    if getattr(parsed, "_freq", DAILY) > DAILY:  # HOURLY, MINUTELY, SECONDLY
        raise ServiceError({"rrule": ["Sessions repeat daily at most (FREQ=DAILY or slower)."]})
    # dateutil keeps COUNT and UNTIL private; an unbounded rule would expand forever.
    if getattr(parsed, "_count", None) is None and getattr(parsed, "_until", None) is None:
        raise ServiceError({"rrule": ["The rule needs COUNT or UNTIL."]})
    return parsed


def _occurrences(series: SessionSeries, *, after: datetime, until: datetime) -> list[datetime]:
    zone = zoneinfo.ZoneInfo(series.timezone)
    start = datetime.combine(series.start_date, series.start_time)
    found: list[datetime] = []
    for local in parse_rule(series.rrule, start=start):
        instant = local.replace(tzinfo=zone).astimezone(UTC)
        if instant >= until or len(found) >= MAX_OCCURRENCES:
            break
        if series.ends_after is not None and instant >= series.ends_after:
            break
        if instant > after:
            found.append(instant)
    return found


def series_problems(
    *,
    rule: str | None = None,
    start_date: date | None = None,
    start_time: time | None = None,
    duration_minutes: int | None = None,
    timezone_name: str | None = None,
) -> dict[str, list[str]]:
    """The rules of a series on whichever fields are given, by field: the API checks them
    together with its own field errors."""
    errors: dict[str, list[str]] = {}
    if rule is not None:
        start = datetime.combine(start_date or date(2000, 1, 1), start_time or time(0, 0))
        try:
            parse_rule(rule, start=start)
        except ServiceError as exc:
            errors.update(exc.fields)
    # Older would iterate for ages on every horizon roll. "A year ago" is a date in the
    # series' zone, like start_date itself.
    if (
        start_date is not None
        and timezone_name is not None
        and start_date < local_today(timezone_name) - SERIES_MAX_AGE
    ):
        errors["start_date"] = ["At most a year in the past."]
    if duration_minutes is not None and not 5 <= duration_minutes <= 12 * 60:
        errors["duration_minutes"] = ["Between 5 minutes and 12 hours."]
    return errors


@transaction.atomic
def series_create(
    *,
    program_id: int,
    kind: str,
    title: str,
    rule: str,
    start_date: date,
    start_time: time,
    duration_minutes: int,
    timezone_name: str,
    location: str = "",
    video_url: str = "",
    facilitator: User | None = None,
    patients: list[Enrollment] | None = None,
) -> SessionSeries:
    errors = series_problems(
        rule=rule,
        start_date=start_date,
        start_time=start_time,
        duration_minutes=duration_minutes,
        timezone_name=timezone_name,
    )
    if errors:
        raise ServiceError(errors)
    series = SessionSeries.objects.create(
        program_id=program_id,
        kind=kind,
        title=title,
        rrule=rule,
        start_date=start_date,
        start_time=start_time,
        duration_minutes=duration_minutes,
        timezone=timezone_name,
        location=location,
        video_url=video_url,
        facilitator=facilitator,
    )
    series.patients.set(patients or [])
    series_expand(series=series)
    return series


def series_expand(*, series: SessionSeries, now: datetime | None = None) -> int:
    """Create the occurrences up to the horizon that do not exist yet."""
    now = now or timezone.now()
    horizon = now + HORIZON
    after = series.expanded_until or datetime.min.replace(tzinfo=UTC)
    if after >= horizon:
        return 0
    patients = list(series.patients.all())
    created = 0
    with transaction.atomic():
        for instant in _occurrences(series, after=after, until=horizon):
            if TreatmentSession.objects.filter(series=series, occurrence_key=instant).exists():
                continue
            session_create(
                program_id=series.program_id,
                kind=series.kind,
                title=series.title,
                starts_at=instant,
                ends_at=instant + timedelta(minutes=series.duration_minutes),
                location=series.location,
                video_url=series.video_url,
                facilitator=series.facilitator,
                patients=patients,
                series_id=series.id,
                occurrence_key=instant,
            )
            created += 1
        series.expanded_until = horizon
        series.save(update_fields=["expanded_until"])
    return created


def series_expand_all(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    total = 0
    due = SessionSeries.objects.filter(expanded_until__lt=now + HORIZON - timedelta(days=1))
    for series in due.iterator():
        total += series_expand(series=series, now=now)
    return total


def series_cancel_rest_problems(
    *, from_instant: datetime, now: datetime | None = None
) -> dict[str, list[str]]:
    """Sessions that already started (and may have attendance recorded) are history, not
    cancellable: the rest of a series is cancelled from now on."""
    if from_instant < (now or timezone.now()) - CLOCK_SKEW:
        return {"from_instant": ["Give an instant from now on."]}
    return {}


def series_move_rest_problems(*, series: SessionSeries, from_date: date) -> dict[str, list[str]]:
    """The rest of a series moves from a date in its zone, today or later: not the past."""
    if from_date < local_today(series.timezone):
        return {"from_date": ["Give today or a later date."]}
    return {}


@transaction.atomic
def series_cancel_rest(
    *, series: SessionSeries, from_instant: datetime, notify: bool = True
) -> int:
    """Cancel every occurrence from `from_instant` on and end the series there."""
    series.ends_after = from_instant
    series.save(update_fields=["ends_after"])
    cancelled = 0
    for session in series.occurrences.filter(
        starts_at__gte=from_instant, status=SessionStatus.SCHEDULED
    ):
        session_cancel(session=session, notify=notify)
        cancelled += 1
    return cancelled


@transaction.atomic
def series_move_rest(
    *,
    series: SessionSeries,
    from_date: date,
    start_time: time,
    duration_minutes: int,
) -> SessionSeries:
    """Move the rest of a series to a new time: end this one, continue as a new series."""
    zone = zoneinfo.ZoneInfo(series.timezone)
    cut = datetime.combine(from_date, time(0, 0), tzinfo=zone).astimezone(UTC)
    series_cancel_rest(series=series, from_instant=cut, notify=False)
    return series_create(
        program_id=series.program_id,
        kind=series.kind,
        title=series.title,
        rule=series.rrule,
        start_date=from_date,
        start_time=start_time,
        duration_minutes=duration_minutes,
        timezone_name=series.timezone,
        location=series.location,
        video_url=series.video_url,
        facilitator=series.facilitator,
        patients=list(series.patients.all()),
    )
