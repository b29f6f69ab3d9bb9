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
# labels.md §3: the causes under each barrier, in report order; codes are stable, the Chinese names are shown.
CAUSES_BY_BARRIER: dict[str, tuple[str, ...]] = {
    "subjective": ("unwilling", "silo_interest", "attitude", "unresponsive", "distrust"),
    "objective": ("unclear_duties", "process", "systems_info", "resources", "conflicting_rules", "distance"),
    "role_misalignment": ("overstepping", "absent", "inverted"),
}
CAUSES: tuple[str, ...] = tuple(cause for barrier in BARRIERS for cause in CAUSES_BY_BARRIER[barrier])
BARRIER_OF_CAUSE: dict[str, str] = {cause: b for b, causes in CAUSES_BY_BARRIER.items() for cause in causes}
CAUSE_NAMES_ZH: dict[str, str] = {
    "unwilling": "不愿配合/推诿",
    "silo_interest": "本位主义",
    "attitude": "态度与服务意识",
    "unresponsive": "不回应/拖延",
    "distrust": "不信任/偏见/情绪",
    "unclear_duties": "职责不清",
    "process": "流程与审批",
    "systems_info": "系统与信息",
    "resources": "资源不足",
    "conflicting_rules": "制度与考核冲突",
    "distance": "异地/时差",
    "overstepping": "越位",
    "absent": "缺位",
    "inverted": "错位",
}
# The corpus slices of data/README.md (corpus v2); free text elsewhere.
KNOWN_SLICES: tuple[str, ...] = (
    "general",
    "hard_negative",
    "sentiment_boundary",
    "short_bare",
    "barrier_boundary",
    "contrastive",
    "ood",
)
SENTIMENT_NAMES_ZH: dict[str, str] = {"negative": "负面", "neutral": "中性", "positive": "正面"}

# Labels written in Chinese (主观障碍, 正面, 流程与审批 …) are accepted on input and mapped to their codes.
LABEL_ALIASES: dict[str, str] = {
    **{name: code for code, name in BARRIER_NAMES_ZH.items()},
    **{name[:2]: code for code, name in BARRIER_NAMES_ZH.items()},  # 主观, 客观, 角色
    **{name: code for code, name in SENTIMENT_NAMES_ZH.items()},
    **{name: code for code, name in CAUSE_NAMES_ZH.items()},
}


def label_code(label: str) -> str:
    """The code of a label given by code or by its Chinese name (unknown text is returned as it was)."""
    label = label.strip()
    return LABEL_ALIASES.get(label, label)


# Where a comment came from; free text elsewhere, but the corpus uses this vocabulary.
KNOWN_SOURCES: tuple[str, ...] = (
    "engagement_survey",
    "internal_csat",
    "review_360",
    "exit_interview",
    "suggestion_box",
    "pulse_chat",
)


def canonical_causes(labels: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    """Deduplicate and order cause codes as in CAUSES."""
    present = set(labels)
    return [code for code in CAUSES if code in present]


def canonical_barriers(labels: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    """Deduplicate and order barrier labels as in BARRIERS, so equal sets compare equal."""
    present = set(labels)
    return [label for label in BARRIERS if label in present]


class Labelled(Protocol):
    barriers: tuple[str, ...]
    sentiment: str


class WithCauses(Protocol):
    causes: tuple[str, ...] | None


def label_arrays(records: Sequence[Labelled]) -> tuple[np.ndarray, np.ndarray]:
    """Labels as arrays: barriers (n, 3) of bools in BARRIERS order, sentiments (n,) of class indices. Works for
    gold records and for predictions alike (both carry ``barriers`` and ``sentiment``)."""
    barriers = np.array([[label in r.barriers for label in BARRIERS] for r in records], dtype=bool).reshape(
        len(records), len(BARRIERS)
    )
    sentiments = np.array([SENTIMENTS.index(r.sentiment) for r in records], dtype=int)
    return barriers, sentiments


def cause_arrays(records: Sequence[WithCauses]) -> np.ndarray:
    """Causes as an (n, 14) array in CAUSES order: 1 present, 0 absent, and a whole row of -1 where a record
    carries no cause labels (so training and evaluation can leave it out)."""
    result = np.full((len(records), len(CAUSES)), -1, dtype=np.int8)
    for row, record in enumerate(records):
        if record.causes is not None:
            result[row] = [code in record.causes for code in CAUSES]
    return result
