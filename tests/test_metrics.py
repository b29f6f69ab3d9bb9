from __future__ import annotations

import numpy as np
import pytest

from feedbackml.metrics import (
    barrier_scores,
    best_threshold,
    bootstrap_interval,
    expected_calibration_error,
    fit_temperature,
    paired_bootstrap_p,
    sentiment_scores,
)


def test_barrier_scores_known_values() -> None:
    gold = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 1, 1]])
    pred = np.array([[1, 0, 0], [1, 0, 0], [0, 0, 1], [0, 1, 1]])
    scores = barrier_scores(gold, pred)
    assert scores["per_label"]["subjective"]["f1"] == 1.0
    assert scores["per_label"]["objective"]["f1"] == pytest.approx(2 / 3)
    assert scores["per_label"]["role_misalignment"]["f1"] == pytest.approx(2 / 3)
    assert scores["exact_match"] == 0.5
    assert scores["micro_f1"] == pytest.approx(2 * 4 / (2 * 4 + 1 + 1))


def test_sentiment_scores_and_confusion() -> None:
    scores = sentiment_scores(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]))
    assert scores["accuracy"] == 0.75
    assert scores["confusion"] == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]


def test_ece_perfectly_calibrated_is_zero() -> None:
    confidence = np.array([1.0, 1.0, 0.0, 0.0])
    assert expected_calibration_error(confidence, np.array([1, 1, 0, 0]))["ece"] == 0.0
    assert expected_calibration_error(np.full(4, 0.9), np.array([0, 0, 0, 0]))["ece"] == pytest.approx(0.9)


def test_threshold_and_temperature() -> None:
    rng = np.random.default_rng(0)
    gold = rng.random(400) < 0.3
    probs = np.clip(gold * 0.35 + rng.random(400) * 0.5, 0, 1)
    cut = best_threshold(probs, gold)
    assert 0.3 <= cut <= 0.6
    # overconfident logits: the fitted temperature must soften them (T > 1)
    labels = rng.integers(0, 3, 500)
    logits = rng.normal(size=(500, 3))
    logits[np.arange(500), labels] += 1.0
    logits *= 4
    probs3 = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert fit_temperature(probs3, labels) > 1.5


def test_bootstrap_and_paired_p() -> None:
    values = np.r_[np.ones(80), np.zeros(20)]
    low, high = bootstrap_interval(lambda idx: float(values[idx].mean()), 100, seed=1)
    assert low < 0.8 < high and high - low < 0.2
    better = np.r_[np.ones(90), np.zeros(10)]
    assert paired_bootstrap_p(lambda idx: float(better[idx].mean() - values[idx].mean()), 100) < 0.05
    assert paired_bootstrap_p(lambda idx: float(values[idx].mean() - values[idx].mean()), 100) == 1.0
