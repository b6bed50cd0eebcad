"""The schedules' arithmetic: the ladder's reset and return, and the prize bowl's draws."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from recovery.services.incentive_program import SlotInput
from recovery.services.incentive_schedules import (
    SECURE,
    Ladder,
    RandomSource,
    SeededSource,
    Standing,
    after_miss,
    after_success,
    draw,
)

# Petry's bowl: half "good job", then small ($1), large ($20) and one jumbo ($100) prize.
BOWL = [
    SlotInput("Good job", 250, 0),
    SlotInput("Small", 209, 100),
    SlotInput("Large", 40, 2000),
    SlotInput("Jumbo", 1, 10_000),
]
DRAWS = 100_000


def test_a_second_miss_keeps_the_level_the_first_took_away() -> None:
    ladder = Ladder(start=1, step=1, maximum=5, return_after=2)
    standing = Standing()
    for _ in range(4):
        _, standing = after_success(ladder, standing)
    standing = after_miss(after_miss(standing))
    assert standing == Standing(level=0, saved_level=4, run=0)
    first, standing = after_success(ladder, standing)
    second, standing = after_success(ladder, standing)
    assert (ladder.worth(first), ladder.worth(second)) == (1, 5)
    assert standing.saved_level is None


def test_without_a_return_a_reset_starts_over_for_good() -> None:
    ladder = Ladder(start=250, step=125, maximum=1250, return_after=0)
    standing = after_miss(Standing(level=6, run=6))
    paid = []
    for _ in range(5):
        level, standing = after_success(ladder, standing)
        paid.append(ladder.worth(level))
    assert paid == [250, 375, 500, 625, 750]


def _counts(source: RandomSource) -> Counter[str]:
    return Counter(draw(BOWL, source).label for _ in range(DRAWS))


def _within(counts: Counter[str], sds: float) -> None:
    total = sum(slot.share for slot in BOWL)
    for slot in BOWL:
        p = slot.share / total
        expected = DRAWS * p
        sd = math.sqrt(DRAWS * p * (1 - p))
        assert abs(counts[slot.label] - expected) <= sds * sd, (slot.label, counts, expected)


@pytest.mark.parametrize("seed", [1, 2026, 750])
def test_the_bowl_gives_its_composition_over_100000_seeded_draws(seed: int) -> None:
    _within(_counts(SeededSource(seed)), sds=4)


def test_the_patients_source_gives_the_composition_too() -> None:
    """The cryptographic source cannot be seeded: six standard deviations per slot fail
    about once in 250 million runs."""
    _within(_counts(SECURE), sds=6)


def test_an_empty_bowl_is_refused() -> None:
    with pytest.raises(ValueError, match="empty bowl"):
        draw([], SECURE)
