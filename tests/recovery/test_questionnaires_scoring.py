"""Scoring against the published instruments: every band edge, the subscales, the skips,
and the change rules (reliable change, response, remission)."""

from __future__ import annotations

from typing import Any

import pytest

from recovery.questionnaires import LIBRARY, definition_problems
from recovery.questionnaires.scoring import answers_problems, change_between, score

PHQ9, GAD7, BAM = LIBRARY["phq9"], LIBRARY["gad7"], LIBRARY["bam"]
AUDIT_C, CSSRS = LIBRARY["auditc"], LIBRARY["cssrs_screen"]


def frequency_answers(total: int, items: int) -> dict[str, str]:
    """Answers (codes 0-3) that add up to `total`, the first items filled first."""
    answers = {}
    for index in range(1, items + 1):
        value = min(3, total)
        answers[str(index)] = str(value)
        total -= value
    assert total == 0
    return answers


def test_every_built_in_instrument_is_a_valid_definition() -> None:
    assert {code: definition_problems(d) for code, d in LIBRARY.items()} == {
        code: {} for code in LIBRARY
    }


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "Minimal"),
        (4, "Minimal"),
        (5, "Mild"),
        (9, "Mild"),
        (10, "Moderate"),
        (14, "Moderate"),
        (15, "Moderately severe"),
        (19, "Moderately severe"),
        (20, "Severe"),
        (27, "Severe"),
    ],
)
def test_phq9_bands_at_every_edge(total: int, band: str) -> None:
    scored = score(PHQ9, frequency_answers(total, 9))
    assert (scored.total, scored.band) == (total, band)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "Minimal"),
        (4, "Minimal"),
        (5, "Mild"),
        (9, "Mild"),
        (10, "Moderate"),
        (14, "Moderate"),
        (15, "Severe"),
        (21, "Severe"),
    ],
)
def test_gad7_bands_at_every_edge(total: int, band: str) -> None:
    scored = score(GAD7, frequency_answers(total, 7))
    assert (scored.total, scored.band) == (total, band)


def test_kroenke_worked_example_scores_each_column() -> None:
    # Kroenke 2001's scoring: the column sums (several days x1, more than half x2, nearly
    # every day x3) add up; here 3 x1 + 2 x2 + 2 x3 = 13, moderate.
    answers = {"1": "1", "2": "1", "3": "1", "4": "2", "5": "2", "6": "3", "7": "3"}
    answers.update({"8": "0", "9": "0"})
    scored = score(PHQ9, answers)
    assert (scored.total, scored.band) == (13, "Moderate")


@pytest.mark.parametrize(
    ("codes", "total", "band"),
    [
        (("0", "0", "0"), 0, "Negative"),
        (("1", "1", "0"), 2, "Negative"),
        (("1", "1", "1"), 3, "Positive for women"),
        (("2", "1", "1"), 4, "Positive"),
        (("4", "2", "1"), 7, "Positive"),
        (("4", "2", "2"), 8, "Positive, high risk"),
        (("4", "4", "4"), 12, "Positive, high risk"),
    ],
)
def test_audit_c_bands_at_every_edge(codes: tuple[str, ...], total: int, band: str) -> None:
    scored = score(AUDIT_C, dict(zip(("1", "2", "3"), codes, strict=True)))
    assert (scored.total, scored.band) == (total, band)


def bam_answers(**overrides: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {str(i): "0" for i in (1, 2, 3, 8, 9, 10, 11, 12, 13, 15, 16, 17)}
    answers.update({"4": 0, "5": 0, "6": 0, "14": "no"})
    answers.update(overrides)
    return answers


def test_bam_use_risk_and_protective_scores() -> None:
    answers = bam_answers(
        **{"1": "4", "2": "2", "3": "3", "8": "1", "11": "1", "15": "1"},  # risk 12
        **{"9": "4", "10": "2", "12": "0", "13": "3", "14": "yes", "16": "0"},  # protective 13
        **{"4": 5, "5": 2, "6": 3, "7A": 3, "7B": 0, "7C": 0, "7D": 0, "7E": 0, "7F": 0},
        **{"7G": 0, "17": "4"},
    )
    scored = score(BAM, answers)
    assert scored.scales == {"use": 10, "risk": 12, "protective": 13}
    assert scored.bands == {
        "use": "Any use",
        "risk": "Elevated risk",
        "protective": "Adequate protection",
    }
    # Item 17 and the drug days of item 7 are in no subscale.
    assert scored.total == 10


def test_bam_edges_no_use_lower_risk_low_protection() -> None:
    answers = bam_answers(**{"1": "4", "2": "4", "3": "3", "9": "4", "10": "4", "13": "4"})
    scored = score(BAM, answers)
    assert scored.scales == {"use": 0, "risk": 11, "protective": 12}
    assert scored.bands == {"use": "No use", "risk": "Lower risk", "protective": "Low protection"}


def test_bam_drug_days_are_asked_only_after_drug_use() -> None:
    assert answers_problems(BAM, bam_answers(**{"7A": 2})) == {
        "7A": ["Not asked, given the earlier answers."]
    }
    problems = answers_problems(BAM, bam_answers(**{"6": 2}))
    assert set(problems) == {"7A", "7B", "7C", "7D", "7E", "7F", "7G"}
    assert answers_problems(BAM, bam_answers(**{"4": 31})) == {"4": ["Must be between 0 and 30."]}


@pytest.mark.parametrize(
    ("answers", "band"),
    [
        ({"1": "no", "2": "no", "6": "no"}, "Negative"),
        ({"1": "yes", "2": "no", "6": "no"}, "Low risk"),
        ({"1": "yes", "2": "yes", "3": "no", "4": "no", "5": "no", "6": "no"}, "Low risk"),
        ({"1": "yes", "2": "yes", "3": "yes", "4": "no", "5": "no", "6": "no"}, "Moderate risk"),
        ({"1": "no", "2": "no", "6": "yes", "6b": "no"}, "Moderate risk"),
        ({"1": "yes", "2": "yes", "3": "yes", "4": "yes", "5": "no", "6": "no"}, "High risk"),
        ({"1": "no", "2": "yes", "3": "no", "4": "no", "5": "yes", "6": "no"}, "High risk"),
        ({"1": "no", "2": "no", "6": "yes", "6b": "yes"}, "High risk"),
    ],
)
def test_cssrs_screen_triage(answers: dict[str, str], band: str) -> None:
    assert answers_problems(CSSRS, answers) == {}
    assert score(CSSRS, answers).band == band


def test_cssrs_follow_ups_only_after_ideation() -> None:
    assert set(answers_problems(CSSRS, {"1": "no", "2": "yes", "6": "no"})) == {"3", "4", "5"}
    assert answers_problems(CSSRS, {"1": "no", "2": "no", "3": "yes", "6": "no"}) == {
        "3": ["Not asked, given the earlier answers."]
    }


def test_partial_unknown_and_wrong_answers_are_named() -> None:
    answers = frequency_answers(10, 9)
    del answers["9"]
    answers["1"] = "7"
    answers["10"] = "1"
    problems = answers_problems(PHQ9, answers)
    assert problems == {
        "9": ["This question needs an answer."],
        "1": ["One of: 0, 1, 2, 3."],
        "10": ["Not an item of this questionnaire."],
    }
    with pytest.raises(ValueError, match="Incomplete"):
        score(PHQ9, answers)


@pytest.mark.parametrize(
    ("baseline", "latest", "improved", "worse", "response", "remission"),
    [
        (18, 12, True, False, False, False),  # 6 points: reliable, 33%: no response
        (18, 13, False, False, False, False),  # 5 points: not reliable
        (18, 9, True, False, True, False),  # 50% exactly: response
        (18, 10, True, False, False, False),  # 44%: no response
        (18, 5, True, False, True, False),  # 5 is not below 5
        (18, 4, True, False, True, True),  # remission
        (8, 14, False, True, False, False),  # worse by 6
        (8, 13, False, False, False, False),
        (0, 0, False, False, False, True),  # a zero baseline cannot respond
    ],
)
def test_phq9_change_rules(
    baseline: int, latest: int, improved: bool, worse: bool, response: bool, remission: bool
) -> None:
    change = change_between(PHQ9, baseline, latest)
    assert change is not None
    assert (change.reliable_improvement, change.reliable_worsening) == (improved, worse)
    assert (change.response, change.remission) == (response, remission)


def test_gad7_reliable_change_is_4_and_has_no_remission_rule() -> None:
    change = change_between(GAD7, 12, 8)
    assert change is not None
    assert change.reliable_improvement
    assert change.remission is None
    three = change_between(GAD7, 12, 9)
    assert three is not None
    assert not three.reliable_improvement
    assert change_between(BAM, 10, 0) is None


def test_a_definition_with_mistakes_is_refused_with_each_named() -> None:
    broken = {
        "code": "mine",
        "version": "1",
        "source": "ours",
        "terms": "ours",
        "languages": ["en"],
        "title": {"en": "Mine"},
        "preamble": {"en": "Answer"},
        "option_sets": {"yn": [{"code": "y", "score": 1, "text": {"en": "Yes"}}]},
        "items": [{"id": "a", "text": {"en": "Q"}, "options": "nope"}],
        "scales": [
            {
                "id": "t",
                "items": ["a", "b"],
                "method": "avg",
                "bands": [{"min": 0, "max": 1, "label": "x"}, {"min": 3, "max": 4, "label": "y"}],
            }
        ],
        "total": "t",
    }
    problems = definition_problems(broken)
    assert set(problems) == {"option_sets.yn", "items.0", "scales.0"}
    assert "Bands must follow on without gaps." in problems["scales.0"]


def test_a_definition_of_the_wrong_shapes_is_refused_not_a_server_error() -> None:
    """What the columns cannot hold and values of the wrong type are named, never raised."""
    phq9 = LIBRARY["phq9"]
    wrong = {
        **phq9,
        "version": "v" * 33,
        "languages": ["zh-Hant-TW"],
        "items": [{**phq9["items"][0], "options": []}, *phq9["items"][1:]],
        "alerts": 5,
    }
    problems = definition_problems(wrong)
    assert {"version", "languages"} <= set(problems)

    wrong_items = {
        **phq9,
        "items": [{**phq9["items"][0], "options": []}, *phq9["items"][1:]],
        "scales": [{**phq9["scales"][0], "items": [{"id": "1"}]}],
        "alerts": 5,
    }
    problems = definition_problems(wrong_items)
    assert {"items.0", "scales.0", "alerts"} <= set(problems)

    huge = {
        **phq9,
        "items": [
            {"id": "n", "text": {"en": "How many?"}, "kind": "number", "min": 0, "max": 10**12}
        ],
        "scales": [{"id": "total", "items": ["n"], "method": "sum", "bands": []}],
        "alerts": [],
        "total": "total",
    }
    assert "items.0" in definition_problems(huge)
