"""What a model returns and the decisions fixed on dev: ``Prediction``, ``Evidence``, ``Calibration``.

Every model kind, the service, the batch scorer and the evaluator speak these types; nothing here runs a model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from feedbackml.labels import BARRIER_OF_CAUSE, BARRIERS, CAUSES, SENTIMENTS


@dataclass(frozen=True)
class Evidence:
    """A word that raised the probability of ``label`` by ``weight`` (occlusion drop)."""

    word: str
    start: int
    end: int
    label: str
    weight: float


@dataclass(frozen=True)
class Prediction:
    barriers: tuple[str, ...]
    barrier_probs: dict[str, float]
    sentiment: str
    sentiment_probs: dict[str, float]
    needs_review: bool
    evidence: tuple[Evidence, ...] = ()
    split: bool = False  # the comment was longer than the encoder takes and was scored sentence by sentence
    causes: tuple[str, ...] = ()  # labels.md §3, only under predicted barriers; () from a model without causes
    cause_probs: dict[str, float] = field(default_factory=dict)
    # 0–1, larger is less sure (see ``Calibration.uncertainty``): what review queues rank by
    uncertainty: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types, keys in field order (built by hand: ``asdict``'s deep copies cost more than the
        rest of writing a scored row)."""
        return {
            "barriers": list(self.barriers),
            "barrier_probs": dict(self.barrier_probs),
            "sentiment": self.sentiment,
            "sentiment_probs": dict(self.sentiment_probs),
            "needs_review": self.needs_review,
            "evidence": self.evidence_json(),
            "split": self.split,
            "causes": list(self.causes),
            "cause_probs": dict(self.cause_probs),
            "uncertainty": self.uncertainty,
        }

    def evidence_json(self) -> list[dict[str, Any]]:
        return [
            {"word": e.word, "start": e.start, "end": e.end, "label": e.label, "weight": e.weight}
            for e in self.evidence
        ]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Prediction:
        """The inverse of ``to_json`` (predictions cross process boundaries as JSON in the Ray engine)."""
        return cls(
            barriers=tuple(data["barriers"]),
            barrier_probs=dict(data["barrier_probs"]),
            sentiment=data["sentiment"],
            sentiment_probs=dict(data["sentiment_probs"]),
            needs_review=bool(data["needs_review"]),
            evidence=tuple(Evidence(**item) for item in data.get("evidence", ())),
            split=bool(data.get("split", False)),
            causes=tuple(data.get("causes", ())),
            cause_probs=dict(data.get("cause_probs", {})),
            uncertainty=float(data.get("uncertainty", 0.0)),
        )


@dataclass
class Calibration:
    """Decisions fixed on dev after training."""

    thresholds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(BARRIERS, 0.5))
    temperature: float = 1.0
    # needs_review when a barrier probability lies within this margin of its threshold …
    barrier_margin: float = 0.0
    # … or when the most likely sentiment is less probable than this.
    sentiment_min_confidence: float = 0.0
    # per cause; empty for a model without a cause head (folders made before causes existed)
    cause_thresholds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            thresholds={label: float(data["thresholds"][label]) for label in BARRIERS},
            temperature=float(data["temperature"]),
            barrier_margin=float(data["barrier_margin"]),
            sentiment_min_confidence=float(data["sentiment_min_confidence"]),
            cause_thresholds={code: float(value) for code, value in data.get("cause_thresholds", {}).items()},
        )

    def threshold_array(self) -> np.ndarray:
        """The barrier thresholds in BARRIERS order, to compare with an (n, 3) probability matrix."""
        return np.array([self.thresholds[label] for label in BARRIERS])

    def decide(self, barrier_probs: np.ndarray, sentiment_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted barrier matrix (n, 3) of bools and sentiment class indices (n,)."""
        return barrier_probs >= self.threshold_array(), sentiment_probs.argmax(axis=1)

    def decide_causes(self, cause_probs: np.ndarray, barriers: np.ndarray) -> np.ndarray:
        """Predicted causes (n, len(CAUSES)): a cause over its threshold under a predicted barrier, and for every
        predicted barrier at least its most probable cause, so predictions keep labels.md §3's rule."""
        chosen = np.zeros((len(barriers), len(CAUSES)), dtype=bool)
        if not self.cause_thresholds or cause_probs.shape[1] != len(CAUSES):
            return chosen
        cut = np.array([self.cause_thresholds[code] for code in CAUSES])
        for column, barrier in enumerate(BARRIERS):
            members = [index for index, code in enumerate(CAUSES) if BARRIER_OF_CAUSE[code] == barrier]
            block = cause_probs[:, members]
            picked = block >= cut[members]
            picked[np.arange(len(block)), block.argmax(axis=1)] = True  # at least one cause per barrier
            chosen[:, members] = picked & barriers[:, column : column + 1]
        return chosen

    def needs_review(
        self, barrier_probs: np.ndarray, sentiment_probs: np.ndarray, disagree: np.ndarray | None = None
    ) -> np.ndarray:
        """A comment near a barrier threshold, unsure of its sentiment, or on which a blend's members disagree
        (confident but unstable: where the errors are that no margin shows)."""
        near = (np.abs(barrier_probs - self.threshold_array()) < self.barrier_margin).any(axis=1)
        unsure = sentiment_probs.max(axis=1) < self.sentiment_min_confidence
        return near | unsure | (disagree if disagree is not None else False)

    def uncertainty(
        self, barrier_probs: np.ndarray, sentiment_probs: np.ndarray, disagree: np.ndarray | None = None
    ) -> np.ndarray:
        """A graded ``needs_review`` to rank a labelling queue by, in [0, 1]. The closest call decides it: a barrier
        at its threshold or two sentiments equally likely give 1, every decision at its extreme gives 0. Where a
        blend's members disagree the score is raised halfway to 1, so those comments (where most errors are) come
        before any the members agree on."""
        thresholds = self.threshold_array()
        room = np.where(barrier_probs >= thresholds, 1.0 - thresholds, thresholds)
        barrier_closeness = 1.0 - np.abs(barrier_probs - thresholds) / np.maximum(room, 1e-9)
        ordered = np.sort(sentiment_probs, axis=1)
        sentiment_closeness = 1.0 - (ordered[:, -1] - ordered[:, -2])
        score = np.clip(np.maximum(barrier_closeness.max(axis=1), sentiment_closeness), 0.0, 1.0)
        if disagree is not None:
            score = np.where(disagree, (1.0 + score) / 2.0, score / 2.0)
        return score


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def rounded(labels: tuple[str, ...], values: np.ndarray) -> dict[str, float]:
    return {label: round(float(value), 4) for label, value in zip(labels, values, strict=True)}


@dataclass(frozen=True)
class Probabilities:
    """Per input text: barrier (n, 3) and sentiment (n, 3) probabilities, cause probabilities (n, 14) — (n, 0)
    for a model without a cause head — whether the text was split to fit the model, and for a blend of models
    whether its members disagree (None for a single model)."""

    barriers: np.ndarray
    sentiment: np.ndarray
    split: np.ndarray
    causes: np.ndarray
    disagree: np.ndarray | None = None

    @classmethod
    def empty(cls, causes: int = 0) -> Probabilities:
        return cls(
            np.zeros((0, len(BARRIERS))), np.zeros((0, len(SENTIMENTS))), np.zeros(0, dtype=bool), np.zeros((0, causes))
        )
