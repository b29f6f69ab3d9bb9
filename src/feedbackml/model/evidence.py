"""Evidence by occlusion: each jieba word is deleted in turn, and the drop in a predicted label's probability is
that word's weight, so it reflects what the model actually used. Offsets point into the input as given.

Works with any model through the ``Scorer`` callable it is handed, so it knows no model kind.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

import numpy as np

from feedbackml.labels import BARRIERS, CAUSES, SENTIMENTS
from feedbackml.model.types import Evidence, Probabilities
from feedbackml.text import segment

EVIDENCE_PER_LABEL = 3
EVIDENCE_MAX_WORDS = 128  # occlusion cost grows with words; longer comments use their first 128 words
# Comments with more content words than ``exhaustive_words`` are occluded coarse to fine: first spans of up to
# EVIDENCE_SPAN_WORDS words within a clause, then single words only inside the EVIDENCE_SPANS_PER_LABEL spans
# whose deletion lowers each predicted label most. It saves about a quarter of the passes but loses some
# agreement with word-by-word occlusion (scripts/evidence_faithfulness.py; figures in the README), so the default
# stays word by word.
EVIDENCE_EXHAUSTIVE_WORDS = EVIDENCE_MAX_WORDS
EVIDENCE_SPAN_WORDS = 6
EVIDENCE_SPANS_PER_LABEL = 2
MIN_EVIDENCE_WEIGHT = 0.01
_BOUNDARY = re.compile(r"[。！？!?；;\n,，、:：]")

Labels = tuple[tuple[str, ...], str]
Scorer = Callable[[list[str]], Probabilities]


def _is_content(word: str) -> bool:
    return any(unicodedata.category(char)[0] in "LN" for char in word)


def evidence_many(
    probabilities: Scorer,
    texts: list[str],
    labels: list[Labels],
    barrier_probs: np.ndarray,
    sentiment_probs: np.ndarray,
    *,
    exhaustive_words: int = EVIDENCE_EXHAUSTIVE_WORDS,
    causes: list[tuple[str, ...]] | None = None,
    cause_probs: np.ndarray | None = None,
) -> list[tuple[Evidence, ...]]:
    """Delete words, re-score with ``probabilities``, and keep the words whose removal lowers a predicted
    label's probability the most. Every variant of every comment is scored in one run (duplicates once), so
    evidence for predicted ``causes`` (labelled with the cause code) costs no further pass."""
    given = (causes, cause_probs) if causes is not None and cause_probs is not None else None
    words = [[piece for piece in segment(text) if _is_content(piece.word)][:EVIDENCE_MAX_WORDS] for text in texts]
    candidates = [list(range(len(text_words))) for text_words in words]
    coarse = [index for index, text_words in enumerate(words) if len(text_words) > exhaustive_words]
    if coarse:
        spans = {index: _spans(texts[index], words[index]) for index in coarse}
        cuts = {index: [(words[index][s[0]].start, words[index][s[-1]].end) for s in spans[index]] for index in coarse}
        drops = _occlusion_drops(probabilities, cuts, texts, labels, barrier_probs, sentiment_probs, given)
        for index in coarse:
            keep: set[int] = set()
            for label_drops in drops[index].values():
                for row in np.argsort(-label_drops, kind="stable")[:EVIDENCE_SPANS_PER_LABEL]:
                    keep.update(spans[index][int(row)])
            candidates[index] = sorted(keep)
    cuts = {
        index: [(words[index][w].start, words[index][w].end) for w in candidates[index]] for index in range(len(texts))
    }
    drops = _occlusion_drops(probabilities, cuts, texts, labels, barrier_probs, sentiment_probs, given)
    found_all: list[tuple[Evidence, ...]] = []
    for index, text_words in enumerate(words):
        found: list[Evidence] = []
        for label, label_drops in drops[index].items():
            for row in np.argsort(-label_drops, kind="stable")[:EVIDENCE_PER_LABEL]:
                if label_drops[row] >= MIN_EVIDENCE_WEIGHT:
                    piece = text_words[candidates[index][int(row)]]
                    weight = round(float(label_drops[row]), 4)
                    found.append(Evidence(piece.word, piece.start, piece.end, label, weight))
        found_all.append(tuple(found))
    return found_all


def _occlusion_drops(
    probabilities: Scorer,
    cuts: dict[int, list[tuple[int, int]]],
    texts: list[str],
    labels: list[Labels],
    barrier_probs: np.ndarray,
    sentiment_probs: np.ndarray,
    given: tuple[list[tuple[str, ...]], np.ndarray] | None = None,
) -> dict[int, dict[str, np.ndarray]]:
    """For each comment and each of its predicted labels (and causes, when ``given``), how much deleting each
    (start, end) cut lowers the label's probability; all variants scored together."""
    row_of: dict[str, int] = {}
    rows = {
        index: [row_of.setdefault(texts[index][:start] + texts[index][end:], len(row_of)) for start, end in spans]
        for index, spans in cuts.items()
    }
    variants = probabilities(list(row_of))
    variant_barriers, variant_sentiment = variants.barriers, variants.sentiment
    result: dict[int, dict[str, np.ndarray]] = {}
    for index, text_rows in rows.items():
        barriers, sentiment = labels[index]
        result[index] = {}
        if not text_rows:
            continue
        for label in barriers:
            column = BARRIERS.index(label)
            result[index][label] = barrier_probs[index, column] - variant_barriers[text_rows, column]
        column = SENTIMENTS.index(sentiment)
        result[index][sentiment] = sentiment_probs[index, column] - variant_sentiment[text_rows, column]
        if given is not None and variants.causes.shape[1] == len(CAUSES):
            for cause in given[0][index]:
                column = CAUSES.index(cause)
                result[index][cause] = given[1][index, column] - variants.causes[text_rows, column]
    return result


def _spans(text: str, words: list[Any]) -> list[list[int]]:
    """Consecutive content words grouped into spans that never cross a clause boundary and hold at most
    ``EVIDENCE_SPAN_WORDS`` words; returns word indices."""
    spans: list[list[int]] = []
    for index, piece in enumerate(words):
        if (
            spans
            and len(spans[-1]) < EVIDENCE_SPAN_WORDS
            and not _BOUNDARY.search(text[words[index - 1].end : piece.start])
        ):
            spans[-1].append(index)
        else:
            spans.append([index])
    return spans
