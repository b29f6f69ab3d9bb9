"""Admission by estimated cost: what a request will keep the one inference worker busy for, judged before it is
queued, so work that cannot finish before the request deadline is refused at once (429) instead of timing out
(504) and holding the worker for callers who are gone.

Cost is counted in work units: characters (plus a fixed overhead per comment), times one model pass per
evidence word, since occlusion evidence re-scores the comment once per word. Seconds per unit are measured on
the worker itself (a timed warm-up, then every large enough call), so the estimate follows the real model and
runtime.
"""

from __future__ import annotations

import math
import threading
import unicodedata

from feedbackml.model.evidence import EVIDENCE_MAX_WORDS

ITEM_OVERHEAD_UNITS = 32  # special tokens, padding and bookkeeping of one comment, in characters
LEARN_MIN_UNITS = 5_000  # smaller calls are dominated by per-call overhead and would make long work look dear
CHARS_PER_WORD = 1.5  # Chinese words are 1-2 characters; erring short over-counts evidence passes (cautious)


def evidence_words(text: str) -> int:
    """Content words occlusion will delete (cheap estimate, no segmentation on the event loop)."""
    content = sum(1 for char in text if unicodedata.category(char)[0] in "LN")
    return min(EVIDENCE_MAX_WORDS, math.ceil(content / CHARS_PER_WORD))


def work_units(text: str, evidence: bool) -> float:
    """Estimated cost of scoring one comment: characters, times one pass per word when evidence is asked."""
    passes = 1 + evidence_words(text) if evidence else 1
    return float((len(text) + ITEM_OVERHEAD_UNITS) * passes)


class Throughput:
    """Seconds per work unit of the inference worker: an exponential average of measured calls."""

    def __init__(self, seconds_per_unit: float = 1e-5, weight: float = 0.3) -> None:
        self.seconds_per_unit = seconds_per_unit
        self.weight = weight
        self._lock = threading.Lock()  # observed on the worker thread, read on the event loop

    def observe(self, units: float, seconds: float, *, force: bool = False) -> None:
        """Learn from one call that did ``units`` of work in ``seconds``; ``force`` replaces the estimate."""
        if units <= 0 or (units < LEARN_MIN_UNITS and not force):
            return
        measured = seconds / units
        with self._lock:
            if force:
                self.seconds_per_unit = measured
            else:
                self.seconds_per_unit += self.weight * (measured - self.seconds_per_unit)

    def seconds(self, units: float) -> float:
        return units * self.seconds_per_unit
