"""Presentation only: chart geometry for inline SVG and human labels for the templates.

Nothing here decides anything clinical; it turns what the selectors computed into
coordinates and words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from recovery.models import (
    AttendanceStatus,
    EnrollmentChange,
    EnrollmentStatus,
    Fellowship,
    FlagKind,
    FlagStatus,
    LevelOfCare,
    MeetingFormat,
    ScreenMethod,
    ScreenOutcome,
    ScreenStatus,
    ScreenSubstance,
    SessionKind,
    Severity,
    Stage,
    SubstanceResult,
    Trigger,
)
from recovery.selectors.dashboard import CaseloadRow
from recovery.web.caseload_scores import InstrumentNames, ScoreCell, score_cells

# Most severe first, as counselors scan them.
SEVERITY_ORDER = ["crisis", "urgent", "warning", "info"]


def label(choices: Any, value: Any) -> str:
    """The human label of a choice, or the raw value for one the code does not know."""
    try:
        return str(choices(value).label)
    except (ValueError, TypeError):
        return str(value)


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


# --- charts ----------------------------------------------------------------------------


@dataclass
class Point:
    x: float
    y: float
    value: float
    day: date | None = None


@dataclass
class Sparkline:
    width: int
    height: int
    segments: list[str]
    last: Point | None
    description: str


def _segments(points: list[Point | None]) -> list[str]:
    """Polyline point lists, broken where a day has no data."""
    out: list[str] = []
    current: list[str] = []
    for p in points:
        if p is None:
            if current:
                out.append(" ".join(current))
            current = []
            continue
        current.append(f"{p.x:.1f},{p.y:.1f}")
    if current:
        out.append(" ".join(current))
    return out


def sparkline(
    values: Sequence[float | None],
    *,
    width: int = 120,
    height: int = 28,
    vmax: float = 10.0,
    what: str = "Craving",
) -> Sparkline:
    pad = 3.0
    n = len(values)
    step = (width - 2 * pad) / (n - 1) if n > 1 else 0.0
    points: list[Point | None] = []
    for i, v in enumerate(values):
        if v is None:
            points.append(None)
            continue
        y = height - pad - (min(max(v, 0.0), vmax) / vmax) * (height - 2 * pad)
        points.append(Point(x=pad + i * step, y=y, value=v))
    known = [p for p in points if p is not None]
    # One line through the days with check-ins: the trend reads at a glance; the days
    # without a check-in show in the adherence column.
    segments = [" ".join(f"{p.x:.1f},{p.y:.1f}" for p in known)] if len(known) > 1 else []
    if known:
        description = (
            f"{what} over {n} days: {len(known)} days with check-ins, "
            f"lowest {_fmt(min(p.value for p in known))}, "
            f"highest {_fmt(max(p.value for p in known))}, latest {_fmt(known[-1].value)}."
        )
    else:
        description = f"{what} over {n} days: no check-ins."
    return Sparkline(
        width=width,
        height=height,
        segments=segments,
        last=known[-1] if known else None,
        description=description,
    )


@dataclass
class Tick:
    pos: float
    text: str


@dataclass
class LineChart:
    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    segments: list[str]
    dots: list[Point]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    description: str
    rows: list[tuple[date, float | None]] = field(default_factory=list)


def line_chart(
    series: Sequence[tuple[date, float | None]],
    *,
    vmin: float,
    vmax: float,
    what: str,
    width: int = 640,
    height: int = 180,
) -> LineChart:
    left, right, top, bottom = 32.0, width - 24.0, 10.0, height - 24.0
    n = len(series)
    step = (right - left) / (n - 1) if n > 1 else 0.0

    def y_of(v: float) -> float:
        return bottom - (v - vmin) / (vmax - vmin) * (bottom - top)

    points: list[Point | None] = []
    for i, (day, v) in enumerate(series):
        points.append(None if v is None else Point(left + i * step, y_of(v), v, day))
    dots = [p for p in points if p is not None]
    span = vmax - vmin
    if span > 5:
        y_values = [vmin + span * k / 4 for k in range(5)]
    else:
        y_values = [float(v) for v in range(int(vmin), int(vmax) + 1)]
    y_ticks = [Tick(y_of(v), _fmt(v)) for v in y_values]
    x_ticks = [
        Tick(left + i * step, f"{day:%b} {day.day}")
        for i, (day, _) in enumerate(series)
        if (n - 1 - i) % 7 == 0
    ]
    if dots:
        description = (
            f"{what}, daily average over {n} days: {len(dots)} days with check-ins, "
            f"lowest {_fmt(min(p.value for p in dots))}, highest "
            f"{_fmt(max(p.value for p in dots))}, latest {_fmt(dots[-1].value)}."
        )
    else:
        description = f"{what}: no check-ins in the last {n} days."
    return LineChart(
        width=width,
        height=height,
        left=left,
        top=top,
        right=right,
        bottom=bottom,
        segments=_segments(points),
        dots=dots,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        description=description,
        rows=list(series),
    )


# --- caseload --------------------------------------------------------------------------


@dataclass
class FlagCount:
    severity: str
    count: int


@dataclass
class CaseloadView:
    row: CaseloadRow
    name: str
    sort_name: str
    stage: str
    level_of_care: str
    sparkline: Sparkline
    adherence_7d_pct: int | None
    adherence_30d_pct: int | None
    hours_pct: int
    hours_met: bool
    flags: list[FlagCount]
    flag_score: int
    trend_word: str
    scores: list[ScoreCell] = field(default_factory=list)


def _pct(value: float | None) -> int | None:
    return None if value is None else round(value * 100)


def caseload_view(rows: list[CaseloadRow]) -> list[CaseloadView]:
    out = []
    names = InstrumentNames()
    for row in rows:
        patient = row.enrollment.patient
        required = row.required_hours_per_week
        flags = [FlagCount(s, row.open_flags[s]) for s in SEVERITY_ORDER if row.open_flags.get(s)]
        trend = row.craving_trend
        if trend is None:
            trend_word = "no trend yet"
        elif trend > 0.5:
            trend_word = f"rising by {_fmt(trend)}"
        elif trend < -0.5:
            trend_word = f"falling by {_fmt(-trend)}"
        else:
            trend_word = "steady"
        out.append(
            CaseloadView(
                row=row,
                name=f"{patient.first_name} {patient.last_name}".strip() or patient.username,
                sort_name=f"{patient.last_name} {patient.first_name}".strip().lower(),
                stage=label(Stage, row.enrollment.stage),
                level_of_care=label(LevelOfCare, row.enrollment.level_of_care),
                sparkline=sparkline(row.craving_daily_30d),
                adherence_7d_pct=_pct(row.adherence_7d),
                adherence_30d_pct=_pct(row.adherence_30d),
                hours_pct=min(100, round(row.hours_this_week / required * 100)) if required else 0,
                hours_met=required > 0 and row.hours_this_week >= required,
                flags=flags,
                # Sort key: crisis outweighs any number of lesser flags.
                flag_score=sum(
                    row.open_flags.get(s, 0) * 1000 ** (len(SEVERITY_ORDER) - i)
                    for i, s in enumerate(SEVERITY_ORDER)
                ),
                trend_word=trend_word,
                scores=score_cells(row.scores, program_id=row.enrollment.program_id, names=names),
            )
        )
    return out


# --- timeline and history --------------------------------------------------------------


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _yes_no(value: bool | None, *, unanswered: str = "not answered") -> str:
    return unanswered if value is None else ("yes" if value else "no")


def _labels(choices: Any, values: Sequence[str]) -> str:
    return ", ".join(label(choices, v) for v in values) or "none"


def _checkin_facts(data: dict[str, Any]) -> list[tuple[str, str]]:
    triggers = [label(Trigger, t) for t in data.get("triggers", []) if t != Trigger.OTHER]
    if data.get("trigger_other") or Trigger.OTHER in data.get("triggers", []):
        triggers.append(f"other: {data.get('trigger_other') or 'not said'}")
    hours = data.get("hours_slept")
    return [
        ("Thoughts of self-harm", _yes_no(data.get("self_harm_thoughts"))),
        ("Substance use", _yes_no(data["used_substance"])),
        ("Substances", _labels(ScreenSubstance, data.get("substances", []))),
        ("Triggers", ", ".join(triggers) or "none"),
        ("Hours slept", "not given" if hours is None else _fmt(hours)),
        ("Medication taken", _yes_no(data.get("medication_taken"))),
    ]


def _screen_facts(data: dict[str, Any]) -> list[tuple[str, str]]:
    results = [
        f"{label(ScreenSubstance, r['substance'])} {label(SubstanceResult, r['result']).lower()}"
        + (" (prescribed)" if r["prescribed"] else "")
        for r in data["results"]
    ]
    return [
        ("Collected", _day(data["collected_on"])),
        ("Method", label(ScreenMethod, data["method"])),
        ("Observed", _yes_no(data["observed"], unanswered="not recorded")),
        ("Results", "; ".join(results) or "none"),
    ]


def timeline_entry(item: dict[str, Any]) -> dict[str, Any]:
    """Title, a one-line summary, the rest as (what, value) facts, and the note if any."""
    data = item["data"]
    kind = item["type"]
    facts: list[tuple[str, str]] = []
    if kind == "checkin":
        title = "Check-in" + (" (sent late)" if data.get("is_late") else "")
        detail = f"Mood {data['mood']}/5, craving {data['craving']}/10"
        facts = _checkin_facts(data)
    elif kind == "exercise_practice":
        title = f"Practiced {data['exercise']}"
        detail = (
            f"Craving {data['craving_before']} to {data['craving_after']}, "
            f"helpfulness {data['helpfulness']}/5"
        )
    elif kind == "urge":
        title = "Urge button"
        intensity = data.get("intensity")
        detail = f"Intensity {intensity}/10" if intensity is not None else "No intensity given"
    elif kind == "attendance":
        title = f"{label(AttendanceStatus, data['status'])}: {data['session']}"
        detail = f"{label(SessionKind, data['kind'])}, {data['minutes_attended']} minutes attended"
    elif kind == "flag":
        title = f"{label(Severity, data['severity'])} flag: {label(FlagKind, data['kind'])}"
        detail = label(FlagStatus, data["status"])
    elif kind == "screen":
        title = f"Drug screen: {label(ScreenOutcome, data['outcome'])}"
        detail = label(ScreenStatus, data["status"])
        facts = _screen_facts(data)
    elif kind == "meeting":
        fellowship = data["fellowship_other"] or label(Fellowship, data["fellowship"])
        title = f"Mutual-help meeting: {fellowship}"
        detail = f"{label(MeetingFormat, data['format'])}, {_day(data['attended_on'])}"
    elif kind == "questionnaire":
        title = f"Questionnaire: {data['instrument'].upper()}"
        detail = f"Score {data['total']}" + (f", {data['band']}" if data["band"] else "")
    else:
        title, detail = kind.replace("_", " ").capitalize(), ""
    return {**item, "title": title, "detail": detail, "facts": facts, "note": data.get("note", "")}


def change_entry(change: EnrollmentChange) -> dict[str, Any]:
    choices: Any = {
        EnrollmentChange.Field.STAGE.value: Stage,
        EnrollmentChange.Field.LEVEL_OF_CARE.value: LevelOfCare,
        EnrollmentChange.Field.STATUS.value: EnrollmentStatus,
    }.get(change.field)
    old = change.old_value
    return {
        "change": change,
        "field": label(EnrollmentChange.Field, change.field),
        "old": label(choices, old) if old else old,
        "new": label(choices, change.new_value),
    }
