"""What an instrument is, as data: the one format the built-in library and a program's own
instruments share, and the validation every definition passes before it is used or saved.

A definition is a plain dict (JSON-able, so a program's instrument is stored as-is):

- `code`, `version`, `title` {lang: text}, `preamble` {lang: text}, `languages`,
  `source` (citation), `terms` (terms of use), optional `loinc` {"panel", "total"}.
- `option_sets`: {name: [{"code", "score", "text": {lang: text}}]}.
- `items`: [{"id", "text": {lang}, "options": set name} or {"id", "text", "kind":
  "number", "min", "max"}; optional `enable_when` {"item", "op": "eq"|"gt", "value"}
  (a score) and `loinc`].
- `scales`: [{"id", "label", "items", "method": "sum"|"max", "bands": [{"min", "max",
  "label"}]}]; `total` names the scale that is the instrument's score.
- `change` (optional): {"reliable_change", "response_drop", "remission_below",
  "source"}: lower scores are better.
- `alerts`: [{"rule": "crisis"|"severe"|"use", "item" or "scale", "above": n,
  "source"}]: a score above `above` raises the rule's flag.
"""

from __future__ import annotations

from typing import Any

SCALE_METHODS = ("sum", "max")
ALERT_RULES = ("crisis", "severe", "use")
ENABLE_OPS = ("eq", "gt")
MAX_ITEMS = 60
MAX_TEXT = 1000

Definition = dict[str, Any]


def _texts(value: Any, languages: list[str], where: str, errors: dict[str, list[str]]) -> None:
    if not isinstance(value, dict) or not value:
        errors.setdefault(where, []).append("A text per language is required.")
        return
    for lang in languages:
        text = value.get(lang)
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            errors.setdefault(where, []).append(f"Text in '{lang}' is missing or too long.")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def item_score_range(item: dict[str, Any], option_sets: dict[str, Any]) -> tuple[int, int]:
    if item.get("kind") == "number":
        return int(item["min"]), int(item["max"])
    scores = [int(o["score"]) for o in option_sets[item["options"]]]
    return min(scores), max(scores)


# QuestionnaireResponse.instrument/instrument_version and .language column sizes.
CODE_LENGTH, LANGUAGE_LENGTH = 32, 8
# A number item's answers add into an integer total: keep them far from its limits.
NUMBER_BOUND = 10_000


def definition_problems(definition: Any) -> dict[str, list[str]]:
    """Everything wrong with a definition, by where it is; {} when it can be used."""
    errors: dict[str, list[str]] = {}
    if not isinstance(definition, dict):
        return {"definition": ["Must be an object."]}
    for key in ("code", "version", "source", "terms"):
        if not isinstance(definition.get(key), str) or not definition[key].strip():
            errors.setdefault(key, []).append("Required text.")
    for key in ("code", "version"):  # stored with every response, in 32 characters
        if isinstance(definition.get(key), str) and len(definition[key]) > CODE_LENGTH:
            errors.setdefault(key, []).append(f"At most {CODE_LENGTH} characters.")
    languages = definition.get("languages")
    if (
        not isinstance(languages, list)
        or not languages
        or not all(isinstance(x, str) and 0 < len(x) <= LANGUAGE_LENGTH for x in languages)
    ):
        return {**errors, "languages": ["A list of language codes, the first the default."]}
    _texts(definition.get("title"), languages, "title", errors)
    _texts(definition.get("preamble"), languages, "preamble", errors)
    option_sets = definition.get("option_sets", {})
    if not isinstance(option_sets, dict):
        return {**errors, "option_sets": ["Must be an object."]}
    for name, options in option_sets.items():
        where = f"option_sets.{name}"
        if not isinstance(options, list) or len(options) < 2:
            errors.setdefault(where, []).append("At least two options.")
            continue
        codes = [o.get("code") if isinstance(o, dict) else None for o in options]
        if not all(isinstance(c, str) and c for c in codes) or len(set(codes)) != len(codes):
            errors.setdefault(where, []).append("Each option needs its own code.")
        for index, option in enumerate(options):
            if not isinstance(option, dict) or not _is_int(option.get("score")):
                errors.setdefault(where, []).append(f"Option {index}: a whole-number score.")
                continue
            _texts(option.get("text"), languages, f"{where}.{index}", errors)
    items = definition.get("items")
    if not isinstance(items, list) or not items or len(items) > MAX_ITEMS:
        return {**errors, "items": [f"Between 1 and {MAX_ITEMS} items."]}
    seen: list[str] = []
    for index, item in enumerate(items):
        where = f"items.{index}"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            errors.setdefault(where, []).append("An item needs an id.")
            continue
        if item["id"] in seen:
            errors.setdefault(where, []).append("Item ids must be unique.")
        _texts(item.get("text"), languages, where, errors)
        if item.get("kind") == "number":
            low: Any = item.get("min")
            high: Any = item.get("max")
            if not (_is_int(low) and _is_int(high) and -NUMBER_BOUND <= low < high <= NUMBER_BOUND):
                errors.setdefault(where, []).append(
                    f"A number item needs whole min < max within ±{NUMBER_BOUND}."
                )
        elif not isinstance(item.get("options"), str) or item["options"] not in option_sets:
            errors.setdefault(where, []).append("Names no option set.")
        condition = item.get("enable_when")
        if condition is not None and (
            not isinstance(condition, dict)
            or condition.get("item") not in seen
            or condition.get("op") not in ENABLE_OPS
            or not _is_int(condition.get("value"))
        ):
            errors.setdefault(where, []).append(
                "enable_when needs an earlier item, op eq or gt, and a whole value."
            )
        seen.append(item["id"])
    errors.update(_scale_problems(definition, seen))
    return errors


def _scale_problems(definition: Definition, item_ids: list[str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    scales = definition.get("scales")
    if not isinstance(scales, list) or not scales:
        return {"scales": ["At least one scale."]}
    scale_ids: list[str] = []
    for index, scale in enumerate(scales):
        where = f"scales.{index}"
        if not isinstance(scale, dict) or not isinstance(scale.get("id"), str):
            errors.setdefault(where, []).append("A scale needs an id.")
            continue
        scale_ids.append(scale["id"])
        members = scale.get("items")
        if (
            not isinstance(members, list)
            or not members
            or not all(isinstance(member, str) for member in members)
            or not set(members) <= set(item_ids)
        ):
            errors.setdefault(where, []).append("Its items must be items of the instrument.")
        if scale.get("method") not in SCALE_METHODS:
            errors.setdefault(where, []).append(f"method: one of {', '.join(SCALE_METHODS)}.")
        bands = scale.get("bands", [])
        if not isinstance(bands, list):
            errors.setdefault(where, []).append("bands: a list.")
            continue
        expected = None
        for band in bands:
            if not (
                isinstance(band, dict)
                and _is_int(band.get("min"))
                and _is_int(band.get("max"))
                and band["min"] <= band["max"]
                and isinstance(band.get("label"), str)
            ):
                errors.setdefault(where, []).append("Each band needs whole min <= max, a label.")
                break
            if expected is not None and band["min"] != expected:
                errors.setdefault(where, []).append("Bands must follow on without gaps.")
                break
            expected = band["max"] + 1
    if not isinstance(definition.get("total"), str) or definition["total"] not in scale_ids:
        errors.setdefault("total", []).append("Must name one of the scales.")
    alerts = definition.get("alerts", [])
    if not isinstance(alerts, list):
        return {**errors, "alerts": ["A list of alert rules."]}
    for index, alert in enumerate(alerts):
        where = f"alerts.{index}"
        if not isinstance(alert, dict) or alert.get("rule") not in ALERT_RULES:
            errors.setdefault(where, []).append(f"rule: one of {', '.join(ALERT_RULES)}.")
            continue
        target_ok = alert.get("item") in item_ids or alert.get("scale") in scale_ids
        target_ok = target_ok and all(
            isinstance(alert.get(key), str | None) for key in ("item", "scale")
        )
        if not target_ok or not _is_int(alert.get("above")):
            errors.setdefault(where, []).append("Needs an item or scale and a whole 'above'.")
    change = definition.get("change")
    if change is not None and not (
        isinstance(change, dict) and _is_int(change.get("reliable_change"))
    ):
        errors.setdefault("change", []).append("reliable_change: a whole number.")
    return errors
