"""The arithmetic of contingency management schedules, apart from the database.

Escalating vouchers (Higgins et al. 1994) and prize draws (Petry et al. 2004) share one
ladder: each success in a row climbs a level, a miss (a positive, missed or refused screen,
an absence) drops back to the first level, and `return_after` successes in a row after a
drop return the patient to the level the drop took away. What a level is worth differs:
cents for vouchers, a number of draws from the bowl for prizes.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from random import Random
from typing import Protocol


@dataclass(frozen=True)
class Ladder:
    start: int
    step: int
    maximum: int
    return_after: int = 0

    def worth(self, level: int) -> int:
        """What the level-th success in a row (0-based) earns."""
        return min(self.start + self.step * level, self.maximum)


@dataclass(frozen=True)
class Standing:
    level: int = 0
    saved_level: int | None = None
    run: int = 0


def after_success(ladder: Ladder, standing: Standing) -> tuple[int, Standing]:
    """The level this success is paid at, and the standing after it. The `return_after`-th
    success in a row after a reset is paid at the level the reset took away."""
    run = standing.run + 1
    level = standing.level
    saved = standing.saved_level
    if saved is not None and ladder.return_after and run >= ladder.return_after:
        level = max(level, saved)
        saved = None
    return level, Standing(level=level + 1, saved_level=saved, run=run)


def after_miss(standing: Standing) -> Standing:
    """Back to the first level, remembering the level this miss took away: the value
    `return_after` successes in a row give back. A miss at the first level takes nothing
    away, so the level an earlier miss took stays remembered."""
    saved = standing.level if standing.level > 0 else standing.saved_level
    return Standing(level=0, saved_level=saved, run=0)


# --- the prize bowl ---------------------------------------------------------------------


class Slot(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def share(self) -> int: ...
    @property
    def value_cents(self) -> int: ...


class RandomSource(Protocol):
    def randbelow(self, n: int) -> int: ...


class SeededSource:
    """A reproducible source for simulations and tests; draws for patients use `secrets`."""

    def __init__(self, seed: int) -> None:
        self._random = Random(seed)  # simulations only, never a patient's draw

    def randbelow(self, n: int) -> int:
        return self._random.randrange(n)


class _SecretsSource:
    def randbelow(self, n: int) -> int:
        return secrets.randbelow(n)


SECURE: RandomSource = _SecretsSource()


def draw(bowl: Sequence[Slot], source: RandomSource = SECURE) -> Slot:
    """One slip from the bowl, each slot as likely as its share of all slips."""
    total = sum(slot.share for slot in bowl)
    if total <= 0:
        raise ValueError("An empty bowl.")
    pick = source.randbelow(total)
    for slot in bowl:
        if pick < slot.share:
            return slot
        pick -= slot.share
    raise AssertionError("unreachable")  # pragma: no cover
