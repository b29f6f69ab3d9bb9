"""Bounded pools of comments for the report to quote: the most probable per label, a reproducible spread per
department pair for drill-down, the most uncertain among those flagged for review. Memory is bounded by cells x
labels x the pool size, never by rows; a sentence already kept in a pool is not kept twice."""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass
from typing import Any

from feedbackml.data.dedup import DEFAULT_THRESHOLD, jaccard, shingles
from feedbackml.data.dedup import dedup_key as corpus_key
from feedbackml.text import redact

POOL_TEXT_CHARS = 1000  # a sample is shown shortened; keep enough that redaction sees whole numbers


@dataclass(frozen=True, order=True)  # ordered: pool entries that tie on rank and line (two files) still compare
class Sample:
    """A comment the report may quote (text not yet redacted); ``probability`` is what it was ranked by."""

    probability: float
    line: int
    text: str


Pool = list[tuple[float, int, Sample]]  # min-heap of (rank, -line, sample): the highest ranks stay


def dedup_key(text: str) -> str:
    """The corpus's own notion of "the same comment" (``feedbackml.data.dedup``), cut to a bounded length."""
    return corpus_key(text)[:200]


def clean(text: object) -> str:
    """The text as a pool keeps it: whitespace runs collapsed, cut at ``POOL_TEXT_CHARS``."""
    return " ".join(str(text).split())[:POOL_TEXT_CHARS]


def offer(pool: Pool, rank: float, line: int, text: str, limit: int, shown: float | None = None) -> None:
    """Keep ``text`` if it ranks among the ``limit`` best of the pool and is not already in it; ``shown`` is the
    probability quoted beside it (the rank itself by default)."""
    if limit <= 0 or not text:
        return
    key = dedup_key(text)
    if any(dedup_key(kept.text) == key for _, _, kept in pool):
        return
    entry = (rank, -line, Sample(rank if shown is None else shown, line, text))
    if len(pool) < limit:
        heapq.heappush(pool, entry)
    elif entry[:2] > pool[0][:2]:
        heapq.heapreplace(pool, entry)


def spread_rank(text: str) -> float:
    """A rank in [0, 1) fixed by the text alone: the pool keeps a sample that does not depend on file order or on
    the model's confidence (drill-down should show what a cell is like, not its most extreme comments)."""
    return int.from_bytes(hashlib.sha256(dedup_key(text).encode()).digest()[:8], "big") / 2**64


def uncertainty(probabilities: list[float]) -> float:
    """How close the least settled barrier decision is to a coin flip (1 at p = 0.5, 0 at p = 0 or 1)."""
    return max((1 - abs(2 * p - 1) for p in probabilities), default=0.0)


def names_any(text: str, unnamed: frozenset[str]) -> bool:
    """The text names one of ``unnamed`` as written or by an alias ``detect_about`` knows (法务 for 法务部)."""
    if not unnamed:
        return False
    from feedbackml.about import detect_about

    return any(name in text for name in unnamed) or bool(unnamed.intersection(detect_about(text)))


def quote(
    candidates: list[tuple[float, Sample, tuple[str, str]]],
    limit: int,
    max_chars: int,
    unnamed: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """The best-ranked candidates (rank, sample, (group, wave)) as the page shows them: redacted, shortened, no
    sentence twice (the same one from two cells, or a near-duplicate: character-bigram Jaccard at least the corpus's
    0.7), and none that names a department
    in ``unnamed`` (a group too small to show: a comment about its few people would point at them)."""
    chosen: list[dict[str, Any]] = []
    seen: list[set[str]] = []
    for _, sample, (group, wave) in sorted(candidates, key=lambda item: (-item[0], item[1].line)):
        if len(chosen) >= limit:
            break
        if names_any(sample.text, unnamed):
            continue
        text = redact(sample.text)
        if len(text) > max_chars:
            text = text[: max_chars - 1].rstrip() + "…"
        grams = shingles(dedup_key(text))
        if any(jaccard(grams, other) >= DEFAULT_THRESHOLD for other in seen):  # near-duplicates count as one
            continue
        seen.append(grams)
        chosen.append({"group": group, "wave": wave, "probability": round(sample.probability, 4), "text": text})
    return chosen


def label_quotes(
    pools: dict[tuple[str, str], list[Pool]],
    labels: tuple[str, ...],
    visible: list[tuple[str, str]],
    per_label: int,
    max_chars: int,
    unnamed: frozenset[str],
) -> dict[str, list[dict[str, Any]]]:
    """Per label, the most probable comments of the visible cells, redacted and shortened."""
    empty: list[Pool] = [[] for _ in labels]
    return {
        label: quote(
            [(rank, sample, cell) for cell in visible for rank, _, sample in pools.get(cell, empty)[index]],
            per_label,
            max_chars,
            unnamed,
        )
        for index, label in enumerate(labels)
    }


def group_quotes(
    pools: dict[tuple[str, str], list[Pool]],
    groups: list[str],
    visible: list[tuple[str, str]],
    limit: int,
    max_chars: int,
    unnamed: frozenset[str],
) -> dict[str, list[dict[str, Any]]]:
    """Drill-down from a department's row: its most probable comments for any barrier, from its visible cells."""
    return {
        group: quote(
            [
                (rank, sample, cell)
                for cell in visible
                if cell[0] == group
                for pool in pools.get(cell, [])
                for rank, _, sample in pool
            ],
            limit,
            max_chars,
            unnamed,
        )
        for group in groups
    }
