"""What a model returns and the decisions fixed on dev: ``Prediction``, ``Evidence``, ``Calibration``.

Every model kind, the service, the batch scorer and the evaluator speak these types; nothing here runs a model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from feedbackml.labels import BARRIERS, SENTIMENTS


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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["barriers"] = list(self.barriers)
        data["evidence"] = [asdict(item) for item in self.evidence]
        return data

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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            thresholds={label: float(data["thresholds"][label]) for label in BARRIERS},
            temperature=float(data["temperature"]),
            barrier_margin=float(data["barrier_margin"]),
            sentiment_min_confidence=float(data["sentiment_min_confidence"]),
        )

    def threshold_array(self) -> np.ndarray:
        """The barrier thresholds in BARRIERS order, to compare with an (n, 3) probability matrix."""
        return np.array([self.thresholds[label] for label in BARRIERS])

    def decide(self, barrier_probs: np.ndarray, sentiment_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted barrier matrix (n, 3) of bools and sentiment class indices (n,)."""
        return barrier_probs >= self.threshold_array(), sentiment_probs.argmax(axis=1)

    def needs_review(self, barrier_probs: np.ndarray, sentiment_probs: np.ndarray) -> np.ndarray:
        near = (np.abs(barrier_probs - self.threshold_array()) < self.barrier_margin).any(axis=1)
        unsure = sentiment_probs.max(axis=1) < self.sentiment_min_confidence
        return near | unsure


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def rounded(labels: tuple[str, ...], values: np.ndarray) -> dict[str, float]:
    return {label: round(float(value), 4) for label, value in zip(labels, values, strict=True)}


def empty_probabilities() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros((0, len(BARRIERS))), np.zeros((0, len(SENTIMENTS))), np.zeros(0, dtype=bool)
