"""The label scheme of ../shared/labels.md, in one place so every module agrees on names and order."""

from __future__ import annotations

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
