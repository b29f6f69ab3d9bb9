"""Decisions fixed on dev after training: barrier and cause thresholds, the sentiment temperature and the
abstain rule, and the dev figures after them. Used by ``train`` for every model kind."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from feedbackml.config import TrainConfig
from feedbackml.labels import BARRIER_OF_CAUSE, BARRIERS, CAUSES, cause_arrays, label_arrays
from feedbackml.metrics import best_threshold, cause_scores, fit_temperature, run_scores
from feedbackml.model import Calibration, Classifier, EncoderClassifier
from feedbackml.model.classifier import roll_up
from feedbackml.model.encoder import blend
from feedbackml.text import normalize


@dataclass(frozen=True)
class LabelledTexts:
    """Normalised texts with their gold labels as arrays (causes: -1 rows where a record has none)."""

    texts: list[str]
    barriers: np.ndarray
    sentiments: np.ndarray
    causes: np.ndarray

    @classmethod
    def of(cls, records: Sequence[Any]) -> LabelledTexts:
        barriers, sentiments = label_arrays(records)
        return cls([normalize(r.text) for r in records], barriers, sentiments, cause_arrays(records))

    def cause_rows(self, code: str) -> np.ndarray:
        """Where cause ``code`` is judged: records with cause labels whose gold barrier holds it."""
        barrier = BARRIERS.index(BARRIER_OF_CAUSE[code])
        return (self.causes[:, CAUSES.index(code)] >= 0) & self.barriers[:, barrier].astype(bool)


def cause_thresholds(cause_probs: np.ndarray, gold: LabelledTexts, tune: bool) -> dict[str, float]:
    """Per cause, the F1-best threshold among the records where it is judged (0.5 where it cannot be tuned);
    empty when the model has no cause head or no dev record carries cause labels."""
    if cause_probs.shape[1] != len(CAUSES) or not (gold.causes >= 0).any():
        return {}
    found = {}
    for column, code in enumerate(CAUSES):
        rows = gold.cause_rows(code)
        target = gold.causes[rows, column].astype(bool)
        found[code] = best_threshold(cause_probs[rows, column], target) if tune and target.any() else 0.5
    return found


def calibrate(model: Classifier, dev: LabelledTexts, config: TrainConfig) -> dict[str, Any]:
    """Fix thresholds, temperature and the abstain rule on dev; returns the dev metrics after calibration."""
    raw = model.probabilities(dev.texts, calibrated=False)
    settings = config.calibration
    thresholds = {
        label: best_threshold(raw.barriers[:, column], dev.barriers[:, column]) if settings.tune_thresholds else 0.5
        for column, label in enumerate(BARRIERS)
    }
    temperature = fit_temperature(raw.sentiment, dev.sentiments) if settings.temperature_scaling else 1.0
    calibration = Calibration(
        thresholds=thresholds,
        temperature=temperature,
        cause_thresholds=cause_thresholds(raw.causes, dev, settings.tune_thresholds),
    )
    model.calibration = calibration
    probs = model.probabilities(dev.texts)
    barrier_probs, sentiment_probs = probs.barriers, probs.sentiment

    # Abstain: a blend's disagreeing comments are always flagged; of the share target_coverage leaves beyond
    # them, half goes to the comments nearest a barrier threshold and half to those least sure of their sentiment.
    disagree = probs.disagree if probs.disagree is not None else np.zeros(len(dev.texts), dtype=bool)
    agreeing = ~disagree
    flagged_share = max(0.0, 1 - settings.target_coverage - float(disagree.mean())) / 2
    cut = calibration.threshold_array()
    if flagged_share > 0 and agreeing.any():
        quantile = min(1.0, flagged_share / float(agreeing.mean()))
        margins = np.abs(barrier_probs[agreeing] - cut).min(axis=1)
        calibration.barrier_margin = float(np.quantile(margins, quantile))
        calibration.sentiment_min_confidence = float(np.quantile(sentiment_probs[agreeing].max(axis=1), quantile))
    review = calibration.needs_review(barrier_probs, sentiment_probs, probs.disagree)

    predicted_barriers, predicted_sentiments = calibration.decide(barrier_probs, sentiment_probs)
    metrics = run_scores(dev.barriers, dev.sentiments, predicted_barriers, predicted_sentiments)
    if calibration.cause_thresholds:
        metrics["causes"] = cause_scores(
            dev.barriers, dev.causes, calibration.decide_causes(probs.causes, predicted_barriers)
        )
    kept = ~review

    def share(values: np.ndarray, rows: np.ndarray) -> float:
        return float(values[rows].mean()) if rows.any() else 0.0

    exact = (predicted_barriers == dev.barriers).all(axis=1)
    right_sentiment = predicted_sentiments == dev.sentiments
    metrics["abstain"] = {
        "coverage": float(kept.mean()),
        "exact_match_answered": share(exact, kept),
        "exact_match_flagged": share(exact, review),
        "sentiment_accuracy_answered": share(right_sentiment, kept),
        "sentiment_accuracy_flagged": share(right_sentiment, review),
    }
    metrics["calibration"] = calibration.to_json()
    metrics["n"] = len(dev.texts)
    return metrics


def dev_scores(model: Classifier, dev: LabelledTexts) -> dict[str, Any]:
    """Uncalibrated dev scores at 0.5 thresholds: what early stopping compares between epochs."""
    probs = model.probabilities(dev.texts, calibrated=False)
    return run_scores(dev.barriers, dev.sentiments, *Calibration().decide(probs.barriers, probs.sentiment))


BLEND_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)


def choose_companion_weight(
    model: EncoderClassifier, companion: Classifier, dev: LabelledTexts, weights: Sequence[float] = BLEND_WEIGHTS
) -> tuple[float, dict[str, float]]:
    """The companion's share of the blended logits that scores best on dev (mean of barrier macro-F1 at
    F1-best thresholds and sentiment macro-F1), and every candidate's score for the model card."""
    own = model.own_piece_logits(dev.texts)
    other = companion.piece_logits([piece for parts in own.pieces for piece in parts])
    table: dict[str, float] = {}
    for weight in weights:
        probs = roll_up(blend(own, other, weight, companion.calibration.threshold_array()))
        predicted = np.column_stack(
            [
                probs.barriers[:, column] >= best_threshold(probs.barriers[:, column], dev.barriers[:, column])
                for column in range(len(BARRIERS))
            ]
        )
        scores = run_scores(dev.barriers, dev.sentiments, predicted, probs.sentiment.argmax(axis=1))
        table[f"{weight:g}"] = round((scores["barriers"]["macro_f1"] + scores["sentiment"]["macro_f1"]) / 2, 4)
    best = max(weights, key=lambda weight: (table[f"{weight:g}"], -weight))
    return best, table
