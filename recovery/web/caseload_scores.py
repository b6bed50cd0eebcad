"""The caseload page's questionnaire column: each instrument's latest score, its band and
its change since baseline, as the caseload selector already computed them (`CaseloadRow.
scores`), with the instrument's name for a person to read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from recovery.questionnaires.definition import Definition
from recovery.selectors.questionnaires import instrument_definition

# The abbreviation a title ends with, as clinicians say it: "(PHQ-9)", "(BAM)".
ABBREVIATION = re.compile(r"\(([A-Z][A-Z0-9-]*)\)\s*$")


@dataclass
class ScoreCell:
    code: str
    name: str  # short, for the cell: "PHQ-9"
    title: str  # in full, for the tooltip
    total: int
    band: str
    change: int | None  # latest minus baseline; None with a single score
    change_words: str


def short_name(title: str) -> str:
    """ "Patient Health Questionnaire (PHQ-9)" -> "PHQ-9"; "AUDIT-C (alcohol consumption)"
    -> "AUDIT-C"; a title without either stays whole."""
    if match := ABBREVIATION.search(title):
        return match.group(1)
    return re.split(r" \(|, ", title, maxsplit=1)[0]


def change_words(change: int | None) -> str:
    """Direction and size in words, no judgement: for some scales down is better, for
    others (protective factors) it is not."""
    if change is None:
        return "first score"
    if change == 0:
        return "same as baseline"
    return f"{'up' if change > 0 else 'down'} {abs(change)} since baseline"


class InstrumentNames:
    """Titles of the instruments on one page: the published ones from the library, a
    program's own read once per code."""

    def __init__(self) -> None:
        self._titles: dict[tuple[int, str], str] = {}

    def title(self, *, program_id: int, code: str) -> str:
        key = (program_id, code)
        if key not in self._titles:
            definition: Definition | None = instrument_definition(program_id=program_id, code=code)
            self._titles[key] = (
                str(definition["title"][definition["languages"][0]]) if definition else code
            )
        return self._titles[key]


def score_cells(
    scores: list[dict[str, Any]], *, program_id: int, names: InstrumentNames
) -> list[ScoreCell]:
    cells = []
    for score in scores:
        title = names.title(program_id=program_id, code=str(score["instrument"]))
        change = score["change_since_baseline"]
        cells.append(
            ScoreCell(
                code=str(score["instrument"]),
                name=short_name(title),
                title=title,
                total=int(score["total"]),
                band=str(score["band"] or ""),
                change=change,
                change_words=change_words(change),
            )
        )
    return cells
