"""Counts of one report cell (or any sum of cells): statuses, labels, causes and the sums of probabilities that
the calibrated expected shares are taken from. Everything the report shows is a sum of tallies."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from feedbackml.labels import BARRIERS, CAUSES, SENTIMENTS

# What the calibrated (expected) share is computed for: each barrier, negative sentiment, each cause.
EXPECTED: tuple[str, ...] = (*BARRIERS, "negative", *CAUSES)
Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Scored:
    """One scored comment as the report reads it (indices into BARRIERS, SENTIMENTS and CAUSES)."""

    barriers: tuple[int, ...]
    sentiment: int
    needs_review: bool
    causes: tuple[int, ...] = ()
    # probabilities in EXPECTED order; None where the file has no such column (an older file, a model without causes)
    probabilities: tuple[float | None, ...] = ()


@dataclass(slots=True)
class Tally:
    """Shares are taken over ``ok`` (comments that were scored); a comment with two barriers is in two rows of
    ``cross`` and counts once in each barrier."""

    n: int = 0
    ok: int = 0
    empty: int = 0
    error: int = 0
    needs_review: int = 0
    barriers: list[int] = field(default_factory=lambda: [0] * len(BARRIERS))
    no_barrier: int = 0
    sentiment: list[int] = field(default_factory=lambda: [0] * len(SENTIMENTS))
    # rows: each barrier, then "no barrier"; columns: sentiments
    cross: list[list[int]] = field(default_factory=lambda: [[0] * len(SENTIMENTS) for _ in range(len(BARRIERS) + 1)])
    causes: list[int] = field(default_factory=lambda: [0] * len(CAUSES))
    # per EXPECTED key: comments that carried the probability, its sum and its sum of squares
    p_n: list[int] = field(default_factory=lambda: [0] * len(EXPECTED))
    p_sum: list[float] = field(default_factory=lambda: [0.0] * len(EXPECTED))
    p_sq: list[float] = field(default_factory=lambda: [0.0] * len(EXPECTED))

    def record(self, scored: Scored) -> None:
        """Count one scored comment (status ok)."""
        self.n += 1
        self.ok += 1
        self.needs_review += scored.needs_review
        self.sentiment[scored.sentiment] += 1
        for index in scored.barriers:
            self.barriers[index] += 1
            self.cross[index][scored.sentiment] += 1
        if not scored.barriers:
            self.no_barrier += 1
            self.cross[len(BARRIERS)][scored.sentiment] += 1
        for index in scored.causes:
            self.causes[index] += 1
        for index, probability in enumerate(scored.probabilities):
            if probability is not None:
                self.p_n[index] += 1
                self.p_sum[index] += probability
                self.p_sq[index] += probability * probability

    def add(self, other: Tally) -> None:
        self.n += other.n
        self.ok += other.ok
        self.empty += other.empty
        self.error += other.error
        self.needs_review += other.needs_review
        self.no_barrier += other.no_barrier
        for mine, theirs in (
            (self.barriers, other.barriers),
            (self.sentiment, other.sentiment),
            (self.causes, other.causes),
            (self.p_n, other.p_n),
            (self.p_sum, other.p_sum),
            (self.p_sq, other.p_sq),
            *zip(self.cross, other.cross, strict=True),
        ):
            for index, value in enumerate(theirs):
                mine[index] += value  # type: ignore[operator]

    def expected(self, key: str) -> dict[str, float | None]:
        """The calibrated expected share of ``key`` (mean probability) with a 95% normal interval of the mean;
        all None when no comment carried the probability."""
        index = EXPECTED.index(key)
        n = self.p_n[index]
        if n == 0:
            return {"share": None, "low": None, "high": None}
        mean = self.p_sum[index] / n
        variance = max(self.p_sq[index] / n - mean * mean, 0.0) * (n / (n - 1) if n > 1 else 0.0)
        half = Z95 * math.sqrt(variance / n)
        low, high = max(mean - half, 0.0), min(mean + half, 1.0)
        return {"share": round(mean, 4), "low": round(low, 4), "high": round(high, 4)}


def total(tallies: Iterable[Tally]) -> Tally:
    """The sum of tallies."""
    result = Tally()
    for tally in tallies:
        result.add(tally)
    return result


def wilson(count: int, n: int) -> tuple[float | None, float | None]:
    """95% Wilson score interval of a share (sound at small n and at 0 or n, unlike the normal one)."""
    if n == 0:
        return None, None
    p = count / n
    denominator = 1 + Z95 * Z95 / n
    centre = (p + Z95 * Z95 / (2 * n)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 * Z95 / (4 * n * n)) / denominator
    return round(max(centre - half, 0.0), 4), round(min(centre + half, 1.0), 4)


def mean_difference(previous: Tally, current: Tally, key: str) -> tuple[float, float] | None:
    """The change of ``key``'s calibrated expected share from ``previous`` to ``current`` and its standard error
    (two independent means); None when either side has fewer than two comments carrying the probability."""
    index = EXPECTED.index(key)
    sides = []
    for tally in (previous, current):
        n = tally.p_n[index]
        if n < 2:
            return None
        mean = tally.p_sum[index] / n
        variance = max(tally.p_sq[index] / n - mean * mean, 0.0) * n / (n - 1)
        sides.append((mean, variance / n))
    return sides[1][0] - sides[0][0], math.sqrt(sides[0][1] + sides[1][1])
