"""Reads of questionnaires: which instrument a code means for a program, the questionnaire
as the patient sees it (in their language), what is due, score histories and change."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet, Subquery

from recovery.models import (
    AssignmentStatus,
    Enrollment,
    GoalMetric,
    Program,
    ProgramInstrument,
    ProgramQuestionnaireSettings,
    QuestionnaireAssignment,
    QuestionnaireResponse,
)
from recovery.questionnaires import LIBRARY, Definition
from recovery.questionnaires.scoring import Change, change_between
from recovery.selectors.access import EnrollmentIds


def instrument_definition(*, program_id: int, code: str) -> Definition | None:
    """The published instrument of that code, else the program's own (latest version)."""
    if code in LIBRARY:
        return LIBRARY[code]
    own = ProgramInstrument.objects.filter(program_id=program_id, code=code).first()
    return own.definition if own is not None else None


def score_goal_problems(
    enrollment: Enrollment | None, metric: str, instrument: str, prefix: str = ""
) -> dict[str, list[str]]:
    """A score goal names an instrument of the patient's program; no other goal names one."""
    if metric != GoalMetric.QUESTIONNAIRE_SCORE:
        if instrument:
            return {f"{prefix}instrument": ["Only for the questionnaire_score metric."]}
        return {}
    if not instrument:
        return {f"{prefix}instrument": ["Name the questionnaire whose score is the target."]}
    if enrollment is not None and (
        instrument_definition(program_id=enrollment.program_id, code=instrument) is None
    ):
        return {f"{prefix}instrument": ["No such instrument in this program."]}
    return {}


def instruments_for_program(program_id: int) -> list[Definition]:
    latest: dict[str, Definition] = {}
    for own in ProgramInstrument.objects.filter(program_id=program_id):
        latest.setdefault(own.code, own.definition)
    return [*LIBRARY.values(), *latest.values()]


def _text(texts: dict[str, str], language: str, fallback: str) -> str:
    return texts.get(language) or texts[fallback]


def localized(definition: Definition, language: str) -> dict[str, Any]:
    """The questionnaire for the app: items and options in the patient's language where
    the instrument has it (else its first language), with no scores (scoring is the
    server's)."""
    fallback = definition["languages"][0]
    lang = language if language in definition["languages"] else fallback
    option_sets = definition["option_sets"]
    items = []
    for item in definition["items"]:
        shown: dict[str, Any] = {
            "id": item["id"],
            "text": _text(item["text"], lang, fallback),
            "kind": item.get("kind", "choice"),
            "enable_when": _condition_as_codes(item.get("enable_when"), definition),
        }
        if shown["kind"] == "number":
            shown.update(min=item["min"], max=item["max"], options=[])
        else:
            shown["options"] = [
                {"code": o["code"], "text": _text(o["text"], lang, fallback)}
                for o in option_sets[item["options"]]
            ]
        items.append(shown)
    return {
        "instrument": definition["code"],
        "version": definition["version"],
        "language": lang,
        "title": _text(definition["title"], lang, fallback),
        "preamble": _text(definition["preamble"], lang, fallback),
        "items": items,
        "source": definition["source"],
        "terms": definition["terms"],
    }


def _condition_as_codes(condition: Any, definition: Definition) -> dict[str, Any] | None:
    """enable_when in the app's terms: the answers (codes, or numbers) that open the item."""
    if condition is None:
        return None
    other = next(i for i in definition["items"] if i["id"] == condition["item"])
    if other.get("kind") == "number":
        return {"item": other["id"], "op": condition["op"], "value": condition["value"]}
    opening = [
        o["code"]
        for o in definition["option_sets"][other["options"]]
        if (o["score"] == condition["value"])
        or (condition["op"] == "gt" and o["score"] > condition["value"])
    ]
    return {"item": other["id"], "op": "in", "value": opening}


def due_assignments(*, enrollment: Enrollment, now: datetime) -> QuerySet[QuestionnaireAssignment]:
    return QuestionnaireAssignment.objects.filter(
        enrollment=enrollment, status=AssignmentStatus.DUE, due_at__lte=now, closes_at__gt=now
    ).order_by("closes_at", "id")


def open_assignment_and_baseline(
    *, enrollment: Enrollment, instrument: str, at: datetime
) -> tuple[QuestionnaireAssignment | None, int | None]:
    """The assignment a response answers: the latest one of that instrument already due
    at the device time, whether still open or missed (a late answer is kept); and the
    patient's baseline total on it (their first response), in one statement when there is
    an assignment. Read before the new response is stored, so it is never its own baseline."""
    baseline = (
        QuestionnaireResponse.objects.filter(enrollment=enrollment, instrument=instrument)
        .order_by("device_time", "id")
        .values("total")[:1]
    )
    assignment = (
        QuestionnaireAssignment.objects.filter(
            enrollment=enrollment,
            instrument=instrument,
            due_at__lte=at,
            status__in=[AssignmentStatus.DUE, AssignmentStatus.MISSED],
        )
        .annotate(baseline_total=Subquery(baseline))
        .order_by("-due_at", "-id")
        .first()
    )
    if assignment is None:
        return None, baseline.values_list("total", flat=True).first()
    return assignment, assignment.baseline_total


def alert_thresholds(
    *, program_id: int, definition: Definition, program: Program | None = None
) -> list[dict[str, Any]]:
    """The instrument's alert rules with the program's own thresholds over the published
    defaults. Given the program, its settings are read from it (the authenticated patient
    carries them: AUTH_USER_SELECT_RELATED), else from the database."""
    settings = (
        _settings_of(program)
        if program is not None
        else ProgramQuestionnaireSettings.objects.filter(program_id=program_id).first()
    )
    overrides = (settings.alert_thresholds if settings else {}).get(definition["code"], {})
    return [
        {**alert, "above": _threshold(alert, overrides.get(alert["rule"], alert["above"]))}
        for alert in definition.get("alerts", [])
    ]


def _threshold(alert: dict[str, Any], chosen: int) -> int:
    """The program's threshold, except that the crisis rule is never made less sensitive
    than published (questionnaire_settings_set refuses it; this holds for older rows)."""
    return min(chosen, alert["above"]) if alert["rule"] == "crisis" else chosen


def _settings_of(program: Program) -> ProgramQuestionnaireSettings | None:
    try:
        return program.questionnaire_settings
    except ProgramQuestionnaireSettings.DoesNotExist:
        return None


def alerts_hit(
    *,
    item_scores: dict[str, int],
    scales: dict[str, int],
    definition: Definition,
    program_id: int,
    program: Program | None = None,
) -> list[str]:
    """The alert rules a scored response meets (crisis, severe, use), each once."""
    hit: list[str] = []
    for alert in alert_thresholds(program_id=program_id, definition=definition, program=program):
        value = item_scores.get(alert["item"]) if "item" in alert else scales.get(alert["scale"])
        if value is not None and value > alert["above"] and alert["rule"] not in hit:
            hit.append(alert["rule"])
    return hit


def score_blockers(*, enrollment: Enrollment, since: datetime) -> list[str]:
    """What in the scores since `since` holds back a step down the continuum: a latest
    score that meets an alert rule, or one worse than baseline by the reliable change."""
    blockers: list[str] = []
    history = score_history(enrollment_ids=[enrollment.id]).get(enrollment.id, {})
    for code, points in sorted(history.items()):
        last = points[-1]
        if last.at < since:
            continue
        definition = instrument_definition(program_id=enrollment.program_id, code=code)
        if definition is None:
            continue
        response = QuestionnaireResponse.objects.get(id=last.response_id)
        rules = alerts_hit(
            item_scores=response.item_scores,
            scales=response.scales,
            definition=definition,
            program_id=enrollment.program_id,
        )
        if rules:
            blockers.append(f"Latest {code} score {last.total} ({last.band}): {', '.join(rules)}.")
        change = (
            change_between(definition, points[0].total, last.total) if len(points) > 1 else None
        )
        if change is not None and change.reliable_worsening:
            blockers.append(f"{code} worse than baseline by {change.change} points.")
    return blockers


def missed_counts(enrollment_ids: EnrollmentIds) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for enrollment_id in QuestionnaireAssignment.objects.filter(
        enrollment_id__in=enrollment_ids, status=AssignmentStatus.MISSED
    ).values_list("enrollment_id", flat=True):
        counts[enrollment_id] += 1
    return dict(counts)


@dataclass(frozen=True)
class ScorePoint:
    response_id: int
    at: datetime
    total: int
    band: str
    scales: dict[str, int]


def score_history(
    *, enrollment_ids: EnrollmentIds, instrument: str | None = None
) -> dict[int, dict[str, list[ScorePoint]]]:
    """Each patient's scores, oldest first, per instrument."""
    rows = QuestionnaireResponse.objects.filter(enrollment_id__in=enrollment_ids)
    if instrument is not None:
        rows = rows.filter(instrument=instrument)
    history: dict[int, dict[str, list[ScorePoint]]] = defaultdict(lambda: defaultdict(list))
    for row in rows.order_by("device_time", "id").values_list(
        "enrollment_id", "instrument", "id", "device_time", "total", "band", "scales"
    ):
        enrollment_id, code, response_id, at, total, band, scales = row
        history[enrollment_id][code].append(ScorePoint(response_id, at, total, band, scales))
    return history


def change_since_baseline(code: str, points: list[ScorePoint]) -> Change | None:
    definition = LIBRARY.get(code)
    if definition is None or len(points) < 2:
        return None
    return change_between(definition, points[0].total, points[-1].total)


def latest_scores(enrollment_ids: EnrollmentIds) -> dict[int, list[dict[str, Any]]]:
    """For the caseload: per patient, each instrument's latest score, its band and its
    change since baseline."""
    latest: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for enrollment_id, by_code in score_history(enrollment_ids=enrollment_ids).items():
        for code, points in sorted(by_code.items()):
            last = points[-1]
            latest[enrollment_id].append(
                {
                    "instrument": code,
                    "total": last.total,
                    "band": last.band,
                    "at": last.at.isoformat(),
                    "change_since_baseline": last.total - points[0].total
                    if len(points) > 1
                    else None,
                }
            )
    return dict(latest)
