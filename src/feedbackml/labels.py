"""The label scheme of ../shared/labels.md, in one place so every module agrees on names and order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

BARRIERS: tuple[str, ...] = ("subjective", "objective", "role_misalignment")
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")

BARRIER_NAMES_ZH: dict[str, str] = {
    "subjective": "主观障碍",
    "objective": "客观障碍",
    "role_misalignment": "角色错位",
}
SENTIMENT_NAMES_ZH: dict[str, str] = {"negative": "负面", "neutral": "中性", "positive": "正面"}

# Where a comment came from; free text elsewhere, but the corpus uses this vocabulary.
KNOWN_SOURCES: tuple[str, ...] = (
    "engagement_survey",
    "internal_csat",
    "review_360",
    "exit_interview",
    "suggestion_box",
    "pulse_chat",
)


def canonical_barriers(labels: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    """Deduplicate and order barrier labels as in BARRIERS, so equal sets compare equal."""
    present = set(labels)
    return [label for label in BARRIERS if label in present]


class Labelled(Protocol):
    barriers: tuple[str, ...]
    sentiment: str


def label_arrays(records: Sequence[Labelled]) -> tuple[np.ndarray, np.ndarray]:
    """Labels as arrays: barriers (n, 3) of bools in BARRIERS order, sentiments (n,) of class indices. Works for
    gold records and for predictions alike (both carry ``barriers`` and ``sentiment``)."""
    barriers = np.array([[label in r.barriers for label in BARRIERS] for r in records], dtype=bool).reshape(
        len(records), len(BARRIERS)
    )
    sentiments = np.array([SENTIMENTS.index(r.sentiment) for r in records], dtype=int)
    return barriers, sentiments
