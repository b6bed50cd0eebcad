"""Scoring, on the server only: the answers' problems, totals, subscales, bands, and the
change rules between two scores (reliable change, response, remission; each instrument's
definition cites its own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recovery.questionnaires.definition import Definition


@dataclass
class Scored:
    item_scores: dict[str, int]
    scales: dict[str, int]
    bands: dict[str, str] = field(default_factory=dict)
    total: int = 0
    band: str = ""


def _enabled(item: dict[str, Any], scores: dict[str, int]) -> bool:
    condition = item.get("enable_when")
    if condition is None:
        return True
    other = scores.get(condition["item"])
    if other is None:
        return False
    if condition["op"] == "eq":
        return bool(other == condition["value"])
    return bool(other > condition["value"])


def _item_score(
    item: dict[str, Any], answer: Any, option_sets: dict[str, Any]
) -> tuple[int | None, str | None]:
    """The answer's score, or the reason it is not an answer to this item."""
    if item.get("kind") == "number":
        if not isinstance(answer, int) or isinstance(answer, bool):
            return None, "A whole number is required."
        if not item["min"] <= answer <= item["max"]:
            return None, f"Must be between {item['min']} and {item['max']}."
        return answer, None
    for option in option_sets[item["options"]]:
        if answer == option["code"]:
            return int(option["score"]), None
    codes = ", ".join(o["code"] for o in option_sets[item["options"]])
    return None, f"One of: {codes}."


def answers_problems(definition: Definition, answers: Any) -> dict[str, list[str]]:
    """Every answer that is missing, unknown, out of range, or given to an item the earlier
    answers skip, by item id; {} when the questionnaire is complete."""
    errors, _ = _walk(definition, answers)
    return errors


def _walk(definition: Definition, answers: Any) -> tuple[dict[str, list[str]], dict[str, int]]:
    if not isinstance(answers, dict):
        return {"answers": ["An object of item id to answer."]}, {}
    errors: dict[str, list[str]] = {}
    scores: dict[str, int] = {}
    known = {item["id"] for item in definition["items"]}
    for key in answers:
        if key not in known:
            errors[str(key)] = ["Not an item of this questionnaire."]
    for item in definition["items"]:
        item_id = item["id"]
        enabled = _enabled(item, scores)
        if item_id not in answers:
            if enabled:
                errors[item_id] = ["This question needs an answer."]
            continue
        if not enabled:
            errors[item_id] = ["Not asked, given the earlier answers."]
            continue
        score, problem = _item_score(item, answers[item_id], definition["option_sets"])
        if problem is not None:
            errors[item_id] = [problem]
        elif score is not None:
            scores[item_id] = score
    return errors, scores


def band_of(scale: dict[str, Any], value: int) -> str:
    for band in scale.get("bands", []):
        if band["min"] <= value <= band["max"]:
            return str(band["label"])
    return ""


def score(definition: Definition, answers: dict[str, Any]) -> Scored:
    """Score complete answers (call `answers_problems` first: this assumes none)."""
    errors, item_scores = _walk(definition, answers)
    if errors:
        raise ValueError(f"Incomplete answers: {sorted(errors)}")
    scored = Scored(item_scores=item_scores, scales={})
    for scale in definition["scales"]:
        values = [item_scores[i] for i in scale["items"] if i in item_scores]
        value = max(values, default=0) if scale["method"] == "max" else sum(values)
        scored.scales[scale["id"]] = value
        scored.bands[scale["id"]] = band_of(scale, value)
    scored.total = scored.scales[definition["total"]]
    scored.band = scored.bands[definition["total"]]
    return scored


@dataclass(frozen=True)
class Change:
    baseline: int
    latest: int
    change: int
    reliable_improvement: bool
    reliable_worsening: bool
    response: bool | None  # None: the instrument has no response rule
    remission: bool | None


def change_between(definition: Definition, baseline: int, latest: int) -> Change | None:
    """The change rules of the definition (lower is better), or None if it has none."""
    rules = definition.get("change")
    if not rules:
        return None
    reliable = int(rules["reliable_change"])
    delta = latest - baseline
    response: bool | None = None
    if "response_drop" in rules:
        # A drop of 50% or more from a baseline above zero (a zero baseline cannot respond).
        response = baseline > 0 and (baseline - latest) >= float(rules["response_drop"]) * baseline
    remission: bool | None = None
    if "remission_below" in rules:
        remission = latest < int(rules["remission_below"])
    return Change(
        baseline=baseline,
        latest=latest,
        change=delta,
        reliable_improvement=-delta >= reliable,
        reliable_worsening=delta >= reliable,
        response=response,
        remission=remission,
    )
