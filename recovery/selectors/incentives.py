"""Reads of contingency management: a patient's balance, targets and ledger; a program's
spending against its budget; the program report (supervisors only, see the API)."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from recovery.dates import program_today
from recovery.models import (
    Attendance,
    AttendanceStatus,
    DrugScreen,
    Enrollment,
    EntryKind,
    IncentiveEntry,
    IncentiveOutcome,
    IncentiveProtocol,
    IncentiveStanding,
    OutcomeResult,
    Program,
    Schedule,
    ScreenOutcome,
)
from recovery.services.incentives import ladder_of, room_left, settings_for

EARNING = (EntryKind.EARNED, EntryKind.DRAWN, EntryKind.REVERSED)


def _sum(qs: QuerySet[IncentiveEntry]) -> int:
    return int(qs.aggregate(total=Sum("amount_cents"))["total"] or 0)


@dataclass
class Target:
    protocol: int
    name: str
    behaviour: str
    substance: str
    schedule: str
    next_value_cents: int | None  # escalating: what the next success earns (within the cap)
    next_draws: int | None  # prize: how many draws the next success gives


@dataclass
class IncentiveSummary:
    balance_cents: int
    earned_this_year_cents: int
    redeemed_cents: int
    year_cap_cents: int
    cap_left_cents: int
    cap_reached: bool
    cap_message: str
    targets: list[Target] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def incentive_summary(enrollment: Enrollment, now: datetime | None = None) -> IncentiveSummary:
    """What the patient sees: the balance, this year's earnings against the cap, and each
    target with what its next success is worth."""
    now = now or timezone.now()
    year = program_today(enrollment.program, now).year
    entries = IncentiveEntry.objects.filter(enrollment=enrollment)
    room, binding = room_left(enrollment, year)
    cap_message = ""
    if room == 0:
        cap_message = (
            "This year's reward limit is reached; successes are still counted."
            if binding == "patient"
            else "The program's reward budget for this year is spent; successes still count."
        )
    standings = {s.protocol_id: s for s in IncentiveStanding.objects.filter(enrollment=enrollment)}
    targets = []
    for protocol in IncentiveProtocol.objects.filter(program_id=enrollment.program_id, active=True):
        standing = standings.get(protocol.id)
        worth = ladder_of(protocol).worth(standing.level if standing else 0)
        prize = protocol.schedule == Schedule.PRIZE
        targets.append(
            Target(
                protocol=protocol.id,
                name=protocol.name,
                behaviour=protocol.behaviour,
                substance=protocol.substance,
                schedule=protocol.schedule,
                next_value_cents=None if prize else min(worth, room),
                next_draws=worth if prize else None,
            )
        )
    return IncentiveSummary(
        balance_cents=_sum(entries),
        earned_this_year_cents=_sum(entries.filter(kind__in=EARNING, year=year)),
        redeemed_cents=-_sum(entries.filter(kind=EntryKind.REDEEMED)),
        year_cap_cents=settings_for(enrollment.program).patient_year_cap_cents,
        cap_left_cents=room,
        cap_reached=room == 0,
        cap_message=cap_message,
        targets=targets,
    )


def ledger_of(enrollment: Enrollment) -> QuerySet[IncentiveEntry]:
    return IncentiveEntry.objects.filter(enrollment=enrollment).order_by("at", "id")


def program_spending(program: Program, now: datetime | None = None) -> dict[str, Any]:
    """This year's earning and redeeming in the program against its budget."""
    year = program_today(program, now).year
    entries = IncentiveEntry.objects.filter(enrollment__program=program, year=year)
    earned = _sum(entries.filter(kind__in=EARNING))
    budget = settings_for(program).year_budget_cents
    return {
        "year": year,
        "budget_cents": budget,
        "earned_cents": earned,
        "redeemed_cents": -_sum(entries.filter(kind=EntryKind.REDEEMED)),
        "budget_left_cents": None if budget is None else budget - earned,
    }


# --- the program report -------------------------------------------------------------------


def _attendance_rate(program: Program, since: datetime, until: datetime) -> dict[str, Any]:
    rows = Attendance.objects.filter(
        session__program=program, session__starts_at__gte=since, session__starts_at__lt=until
    ).exclude(status=AttendanceStatus.EXCUSED)
    counts = rows.aggregate(
        total=Count("id"),
        attended=Count(
            "id", filter=Q(status__in=[AttendanceStatus.PRESENT, AttendanceStatus.LATE])
        ),
    )
    total, attended = counts["total"], counts["attended"]
    return {"recorded": total, "attended": attended, "rate": _rate(attended, total)}


def _screen_rate(program: Program, since: date, until: date) -> dict[str, Any]:
    rows = DrugScreen.objects.filter(
        enrollment__program=program, collected_on__gte=since, collected_on__lt=until
    )
    counts = rows.aggregate(
        total=Count("id"), negative=Count("id", filter=Q(outcome=ScreenOutcome.NEGATIVE))
    )
    total, negative = counts["total"], counts["negative"]
    return {"screens": total, "negative": negative, "rate": _rate(negative, total)}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _instant(day: date, program: Program) -> datetime:
    from backend.timezones import as_zone

    return datetime.combine(day, datetime.min.time(), tzinfo=as_zone(program.timezone))


def incentive_report(program: Program, now: datetime | None = None) -> dict[str, Any]:
    """Participants, behaviours verified, value earned and redeemed, cost per participant
    against the cap, and attendance and negative screens in the weeks since CM began
    against as many weeks before it."""
    now = now or timezone.now()
    today = program_today(program, now)
    began = (
        IncentiveProtocol.objects.filter(program=program)
        .order_by("started_on")
        .values_list("started_on", flat=True)
        .first()
    )
    entries = IncentiveEntry.objects.filter(enrollment__program=program)
    outcomes = IncentiveOutcome.objects.filter(enrollment__program=program)
    participants = outcomes.values("enrollment_id").distinct().count()
    earned = _sum(entries.filter(kind__in=EARNING))
    verified = outcomes.filter(result=OutcomeResult.SUCCESS, reversed_at__isnull=True)
    by_behaviour = dict(
        verified.values_list("protocol__behaviour").annotate(n=Count("id")).order_by()
    )
    report: dict[str, Any] = {
        "program": program.id,
        "as_of": today.isoformat(),
        "cm_began_on": began.isoformat() if began else None,
        "participants": participants,
        "behaviours_verified": verified.count(),
        "behaviours_verified_by_kind": by_behaviour,
        "earned_cents": earned,
        "redeemed_cents": -_sum(entries.filter(kind=EntryKind.REDEEMED)),
        "balance_cents": _sum(entries),
        "cost_per_participant_cents": earned // participants if participants else 0,
        "patient_year_cap_cents": settings_for(program).patient_year_cap_cents,
        "spending": program_spending(program, now),
        "before": None,
        "since": None,
    }
    if began is not None and began <= today:
        span = (today - began).days + 1
        before_start = began - timedelta(days=span)
        end = today + timedelta(days=1)
        report["before"] = {
            "from": before_start.isoformat(),
            "attendance": _attendance_rate(
                program, _instant(before_start, program), _instant(began, program)
            ),
            "screens": _screen_rate(program, before_start, began),
        }
        report["since"] = {
            "from": began.isoformat(),
            "attendance": _attendance_rate(
                program, _instant(began, program), _instant(end, program)
            ),
            "screens": _screen_rate(program, began, end),
        }
    return report


CSV_COLUMNS = ["measure", "value"]


def report_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(report_rows(report))
    return out.getvalue()


def report_rows(report: dict[str, Any]) -> list[tuple[str, Any]]:
    """The report flattened for CSV: one measure a row, nested keys joined by dots."""
    rows: list[tuple[str, Any]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            rows.append((prefix, "" if value is None else value))

    walk("", report)
    return rows
