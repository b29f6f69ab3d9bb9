"""The ``Classifier`` contract every model kind meets, and the prediction logic they share: calibration,
abstention, the roll-up of a long comment's pieces, and evidence.

A model kind implements ``piece_logits`` (and ``save``); ``predict`` takes a string or a list of strings and
returns one ``Prediction`` or a list of the same length.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, overload

import numpy as np

from feedbackml.labels import BARRIERS, CAUSES, SENTIMENTS
from feedbackml.model.evidence import EVIDENCE_EXHAUSTIVE_WORDS, Labels, evidence_many
from feedbackml.model.types import (
    Calibration,
    Evidence,
    Prediction,
    Probabilities,
    rounded,
    sigmoid,
    softmax,
)
from feedbackml.text import normalize


class PieceLogits(NamedTuple):
    """Each text as the pieces a model takes whole, and the logits of every piece in order: barriers (pieces, 3),
    sentiment (pieces, 3), causes (pieces, 14; (pieces, 0) without a cause head) and, for a blend of models,
    whether its members alone would decide a piece differently (None for a single model)."""

    pieces: list[list[str]]
    barriers: np.ndarray
    sentiment: np.ndarray
    causes: np.ndarray
    disagree: np.ndarray | None = None


def roll_up(logits: PieceLogits, temperature: float = 1.0) -> Probabilities:
    """Per text probabilities from per piece logits. A barrier (or cause) anywhere in a long comment is one of the
    comment; its tone is the length-weighted mean of the tones of its parts; its members disagree if they do on
    any part."""
    count = len(logits.pieces)
    barrier_flat, sentiment_flat = sigmoid(logits.barriers), softmax(logits.sentiment, temperature)
    cause_flat = sigmoid(logits.causes)
    barrier_probs = np.zeros((count, len(BARRIERS)))
    sentiment_probs = np.zeros((count, len(SENTIMENTS)))
    cause_probs = np.zeros((count, cause_flat.shape[1]))
    split = np.zeros(count, dtype=bool)
    disagree = None if logits.disagree is None else np.zeros(count, dtype=bool)
    position = 0
    for index, text_pieces in enumerate(logits.pieces):
        size = len(text_pieces)
        rows = slice(position, position + size)
        barrier_probs[index] = barrier_flat[rows].max(axis=0)
        cause_probs[index] = cause_flat[rows].max(axis=0)
        weights = np.array([max(len(piece), 1) for piece in text_pieces], dtype=float)
        sentiment_probs[index] = (sentiment_flat[rows] * weights[:, None]).sum(axis=0) / weights.sum()
        split[index] = size > 1
        if disagree is not None and logits.disagree is not None:
            disagree[index] = bool(logits.disagree[rows].any())
        position += size
    return Probabilities(barrier_probs, sentiment_probs, split, cause_probs, disagree)


class Classifier(ABC):
    """What every model kind shares. Subclasses provide raw logits of normalised texts."""

    kind: ClassVar[str]

    def __init__(self, calibration: Calibration | None = None, meta: dict[str, Any] | None = None) -> None:
        self.calibration = calibration or Calibration()
        self.meta = meta or {}  # written into the folder's config.json
        self.version = "unversioned"  # set by load_model from the manifest
        self.manifest: dict[str, Any] = {}  # created, git_commit, metrics, data of the folder it was loaded from

    @property
    def runtime(self) -> str:
        """What computes the logits."""
        return "native"

    @abstractmethod
    def piece_logits(self, texts: list[str]) -> PieceLogits:
        """Each normalised text as the pieces the model takes whole (one unless a text is too long) and the
        logits of every piece (see ``PieceLogits``)."""

    @abstractmethod
    def save(self, folder: Path) -> None:
        """Write the model's own files (not the manifest) into an empty folder."""

    def probabilities(self, texts: list[str], *, calibrated: bool = True) -> Probabilities:
        """Probabilities of every input text (raw, any length); see ``Probabilities``."""
        if not texts:
            return Probabilities.empty(len(CAUSES) if self.calibration.cause_thresholds else 0)
        temperature = self.calibration.temperature if calibrated else 1.0
        return roll_up(self.piece_logits([normalize(t) for t in texts]), temperature)

    @overload
    def predict(self, texts: str, *, evidence: bool = ...) -> Prediction: ...
    @overload
    def predict(self, texts: list[str], *, evidence: bool = ...) -> list[Prediction]: ...

    def predict(self, texts: str | list[str], *, evidence: bool = False) -> Prediction | list[Prediction]:
        """Labels, probabilities and review flag for one comment or many (same arity back)."""
        single = isinstance(texts, str)
        batch = [texts] if single else list(texts)
        probs = self.probabilities(batch)
        barrier_probs, sentiment_probs = probs.barriers, probs.sentiment
        review = self.calibration.needs_review(barrier_probs, sentiment_probs, probs.disagree)
        uncertainty = self.calibration.uncertainty(barrier_probs, sentiment_probs, probs.disagree)
        chosen, sentiment_index = self.calibration.decide(barrier_probs, sentiment_probs)
        causes = self.calibration.decide_causes(probs.causes, chosen)
        with_causes = probs.causes.shape[1] == len(CAUSES) and bool(self.calibration.cause_thresholds)
        labels: list[Labels] = [
            (
                tuple(label for column, label in enumerate(BARRIERS) if chosen[index, column]),
                SENTIMENTS[int(sentiment_index[index])],
            )
            for index in range(len(batch))
        ]
        cause_codes = [
            tuple(code for column, code in enumerate(CAUSES) if causes[index, column]) for index in range(len(batch))
        ]
        found = (
            self.evidence_many(
                batch, labels, barrier_probs, sentiment_probs, causes=cause_codes, cause_probs=probs.causes
            )
            if evidence
            else [()] * len(batch)
        )
        predictions = [
            Prediction(
                barriers=barriers,
                barrier_probs=rounded(BARRIERS, barrier_probs[index]),
                sentiment=sentiment,
                sentiment_probs=rounded(SENTIMENTS, sentiment_probs[index]),
                needs_review=bool(review[index]),
                uncertainty=round(float(uncertainty[index]), 4),
                evidence=found[index],
                split=bool(probs.split[index]),
                causes=cause_codes[index],
                cause_probs=rounded(CAUSES, probs.causes[index]) if with_causes else {},
            )
            for index, (barriers, sentiment) in enumerate(labels)
        ]
        return predictions[0] if single else predictions

    def evidence_many(
        self,
        texts: list[str],
        labels: list[Labels],
        barrier_probs: np.ndarray,
        sentiment_probs: np.ndarray,
        *,
        exhaustive_words: int = EVIDENCE_EXHAUSTIVE_WORDS,
        causes: list[tuple[str, ...]] | None = None,
        cause_probs: np.ndarray | None = None,
    ) -> list[tuple[Evidence, ...]]:
        """The words behind each comment's predicted labels and causes (see ``feedbackml.model.evidence``)."""
        return evidence_many(
            self.probabilities,
            texts,
            labels,
            barrier_probs,
            sentiment_probs,
            exhaustive_words=exhaustive_words,
            causes=causes,
            cause_probs=cause_probs,
        )
