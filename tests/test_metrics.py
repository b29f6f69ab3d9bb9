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


def test_figures_are_pinned_on_a_fixed_input() -> None:
    """The reported numbers of the scikit-learn/scipy implementations equal those of the hand-written ones they
    replaced (values recorded from those, at full precision), on a fixed random input."""
    from feedbackml.data.agreement import cohen_kappa

    rng = np.random.default_rng(7)
    gold = rng.random((120, 3)) < 0.35
    pred = gold ^ (rng.random((120, 3)) < 0.2)
    gold_s = rng.integers(0, 3, 120)
    pred_s = np.where(rng.random(120) < 0.75, gold_s, rng.integers(0, 3, 120))
    b = barrier_scores(gold, pred)
    assert b["macro_f1"] == pytest.approx(0.7629279042396013, abs=1e-12)
    assert b["micro_f1"] == pytest.approx(0.762962962962963, abs=1e-12)
    assert b["exact_match"] == 0.575 and b["no_barrier_f1"] == pytest.approx(0.6274509803921569, abs=1e-12)
    assert [b["per_label"][label]["precision"] for label in b["per_label"]] == pytest.approx(
        [0.7272727272727273, 0.7857142857142857, 0.6382978723404256], abs=1e-12
    )
    assert [b["per_label"][label]["recall"] for label in b["per_label"]] == pytest.approx(
        [0.851063829787234, 0.8461538461538461, 0.75], abs=1e-12
    )
    s = sentiment_scores(gold_s, pred_s)
    assert s["macro_f1"] == pytest.approx(0.85832087283507, abs=1e-12) and s["accuracy"] == pytest.approx(103 / 120)
    assert s["confusion"] == [[37, 1, 3], [1, 32, 6], [2, 4, 34]]
    interval = bootstrap_interval(
        lambda idx: barrier_scores(gold[idx], pred[idx])["macro_f1"], 120, resamples=300, seed=3
    )
    assert interval == pytest.approx((0.6946929213537659, 0.8161054368906892), abs=1e-12)
    assert cohen_kappa(list(gold_s), list(pred_s)) == pytest.approx(0.7874335729915596, abs=1e-12)
    assert cohen_kappa(["a"] * 5, ["a"] * 5) == 1.0


def test_share_errors_compares_counting_and_expected_shares_with_gold() -> None:
    from feedbackml.metrics import share_errors

    gold = {"a": np.array([1, 0, 0, 0]), "b": np.array([1, 1, -1, -1])}
    predicted = {"a": np.array([1, 1, 0, 0]), "b": np.array([1, 0, 1, 1])}
    expected = {"a": np.array([0.5, 0.1, 0.0, 0.4]), "b": np.array([0.9, 0.7, 0.0, 0.0])}
    found = share_errors(gold, predicted, expected)
    assert found["per_label"]["a"] == {"gold": 0.25, "classify_and_count": 0.5, "expected": 0.25}
    assert found["per_label"]["b"] == {"gold": 1.0, "classify_and_count": 0.5, "expected": 0.8}  # -1 rows left out
    errors = found["mean_absolute_error"]
    assert errors["classify_and_count"] == 0.375 and abs(errors["expected"] - 0.1) < 1e-12
