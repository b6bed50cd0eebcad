"""The patient page's questionnaire charts: each instrument's totals over time on its own
scale, with the instrument's severity bands shaded behind the line."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date

from backend.timezones import local_date
from recovery.models import Enrollment
from recovery.selectors.questionnaires import instrument_definition, score_history
from recovery.web.present import LineChart, Tick, line_chart


@dataclass
class Band:
    x: float
    width: float
    y: float
    height: float
    label: str
    shade: int  # 1 (lowest band) upwards: darker means more severe


@dataclass
class ScoreChart:
    code: str
    title: str
    chart: LineChart
    bands: list[Band]
    rows: list[tuple[date, int, str]]


def _y_of(chart: LineChart, value: float, highest: float) -> float:
    return chart.bottom - value / highest * (chart.bottom - chart.top)


def score_charts(*, enrollment: Enrollment) -> list[ScoreChart]:
    zone = zoneinfo.ZoneInfo(enrollment.timezone)
    charts = []
    history = score_history(enrollment_ids=[enrollment.id]).get(enrollment.id, {})
    for code, points in sorted(history.items()):
        definition = instrument_definition(program_id=enrollment.program_id, code=code)
        if definition is None:
            continue
        scale = next(s for s in definition["scales"] if s["id"] == definition["total"])
        bands = scale.get("bands", [])
        highest = max([b["max"] for b in bands] + [p.total for p in points] + [1])
        title = definition["title"][definition["languages"][0]]
        series: list[tuple[date, float | None]] = [
            (local_date(p.at, zone), float(p.total)) for p in points
        ]
        chart = line_chart(series, vmin=0, vmax=highest, what=title)
        # One tick per score: they are days or weeks apart, not daily.
        chart.x_ticks = [
            Tick(dot.x, f"{day:%b} {day.day}") for dot in chart.dots if (day := dot.day)
        ]
        latest = points[-1]
        chart.description = (
            f"{title}: {len(points)} scores from {points[0].total} to {latest.total} "
            f"(latest band: {latest.band or 'none'})."
        )

        shaded = []
        for shade, band in enumerate(bands, start=1):
            top = _y_of(chart, min(band["max"] + 1, highest), highest)
            bottom = _y_of(chart, band["min"], highest)
            shaded.append(
                Band(
                    x=chart.left,
                    width=chart.right - chart.left,
                    y=top,
                    height=max(bottom - top, 0.0),
                    label=band["label"],
                    shade=shade,
                )
            )
        charts.append(
            ScoreChart(
                code=code,
                title=title,
                chart=chart,
                bands=shaded,
                rows=[(local_date(p.at, zone), p.total, p.band) for p in points],
            )
        )
    return charts
