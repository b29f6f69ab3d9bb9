"""Metrics on numpy arrays: F1 per barrier, sentiment accuracy and macro-F1, calibration error, bootstrap.

``gold_barriers``/``pred_barriers`` are (n, 3) 0/1 matrices in BARRIERS order; sentiments are class indices in
SENTIMENTS order. Everything here is pure and deterministic for a given seed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from feedbackml.labels import BARRIERS, SENTIMENTS


def _f1(tp: float, fp: float, fn: float) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def barrier_scores(gold: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    gold, pred = gold.astype(bool), pred.astype(bool)
    precision, recall, f1, support = precision_recall_fscore_support(gold, pred, average=None, zero_division=0)
    per_label = {
        label: {
            "precision": float(precision[column]),
            "recall": float(recall[column]),
            "f1": float(f1[column]),
            "support": int(support[column]),
        }
        for column, label in enumerate(BARRIERS)
    }
    any_gold, any_pred = gold.any(1), pred.any(1)
    return {
        "per_label": per_label,
        "macro_f1": float(np.mean(f1)),
        "micro_f1": float(f1_score(gold, pred, average="micro", zero_division=0)),
        "exact_match": float(accuracy_score(gold, pred)) if len(gold) else 0.0,  # subset accuracy
        "no_barrier_f1": float(f1_score(~any_gold, ~any_pred, zero_division=0)),
    }


def sentiment_scores(gold: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix, f1_score

    classes = list(range(len(SENTIMENTS)))
    confusion = confusion_matrix(gold, pred, labels=classes)
    f1 = f1_score(gold, pred, labels=classes, average=None, zero_division=0)
    per_label = {
        label: {"f1": float(f1[index]), "support": int(confusion[index].sum())}
        for index, label in enumerate(SENTIMENTS)
    }
    return {
        "accuracy": float((gold == pred).mean()) if len(gold) else 0.0,
        "macro_f1": float(np.mean(f1)),
        "per_label": per_label,
        "confusion": confusion.tolist(),
    }


def run_scores(
    gold_barriers: np.ndarray, gold_sentiments: np.ndarray, pred_barriers: np.ndarray, pred_sentiments: np.ndarray
) -> dict[str, Any]:
    """Barrier and sentiment scores of one run: what training, calibration, export and evaluation report."""
    return {
        "barriers": barrier_scores(gold_barriers, pred_barriers),
        "sentiment": sentiment_scores(gold_sentiments, pred_sentiments),
    }


def cause_scores(gold_barriers: np.ndarray, gold_causes: np.ndarray, pred_causes: np.ndarray) -> dict[str, Any]:
    """P/R/F1 per cause over the comments whose gold barrier holds it (and that carry cause labels: rows of
    ``gold_causes`` that are -1 are left out), with micro- and macro-F1 over those cells."""
    from sklearn.metrics import precision_recall_fscore_support

    from feedbackml.labels import BARRIER_OF_CAUSE, CAUSES

    per_cause, golds, preds = {}, [], []
    for column, code in enumerate(CAUSES):
        rows = (gold_causes[:, column] >= 0) & gold_barriers[:, BARRIERS.index(BARRIER_OF_CAUSE[code])].astype(bool)
        gold, pred = gold_causes[rows, column].astype(bool), pred_causes[rows, column].astype(bool)
        golds.append(gold)
        preds.append(pred)
        precision, recall, f1, _ = (
            precision_recall_fscore_support(gold, pred, average="binary", zero_division=0)
            if len(gold)
            else (0.0, 0.0, 0.0, None)
        )
        per_cause[code] = {
            "precision": float(precision),
            "recall": float(recall),
            "f1": float(f1),
            "support": int(gold.sum()),
        }
    gold_all, pred_all = np.concatenate(golds), np.concatenate(preds)
    tp = float((gold_all & pred_all).sum())
    judged = [code for code in CAUSES if per_cause[code]["support"]]
    return {
        "per_cause": per_cause,
        "micro_f1": _f1(tp, float((~gold_all & pred_all).sum()), float((gold_all & ~pred_all).sum())),
        "macro_f1": float(np.mean([per_cause[code]["f1"] for code in judged])) if judged else 0.0,
        "n_cells": len(gold_all),
    }


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """ECE over equal-width confidence bins, and the bins themselves for a reliability diagram."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    table = []
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        accuracy, mean_confidence = float(correct[mask].mean()), float(confidence[mask].mean())
        ece += mask.mean() * abs(accuracy - mean_confidence)
        table.append(
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "n": int(mask.sum()),
                "confidence": mean_confidence,
                "accuracy": accuracy,
            }
        )
    return {"ece": float(ece), "bins": table}


def bootstrap_interval(
    statistic: Callable[[np.ndarray], float], n: int, *, resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval (scipy) of ``statistic(indices)`` over resampled row indices."""
    from scipy.stats import bootstrap

    result = bootstrap(
        (np.arange(n),),
        statistic,
        n_resamples=resamples,
        vectorized=False,
        confidence_level=level,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def paired_bootstrap_p(
    difference: Callable[[np.ndarray], float], n: int, *, resamples: int = 1000, seed: int = 0
) -> float:
    """Two-sided p-value that a paired difference (B − A on the same rows) is zero: the share of resamples
    whose difference falls on the other side of zero from the observed one, doubled."""
    rng = np.random.default_rng(seed)
    observed = difference(np.arange(n))
    values = np.array([difference(rng.integers(0, n, n)) for _ in range(resamples)])
    if observed == 0:
        return 1.0
    opposite = (values <= 0).mean() if observed > 0 else (values >= 0).mean()
    return float(min(1.0, 2 * opposite))


def best_threshold(probs: np.ndarray, gold: np.ndarray) -> float:
    """The probability cut-off that maximises F1 on one label (ties: the one closest to 0.5)."""
    candidates = np.round(np.arange(0.05, 0.951, 0.01), 2)
    scores = []
    for cut in candidates:
        pred = probs >= cut
        tp = float((pred & gold).sum())
        scores.append(_f1(tp, float((pred & ~gold).sum()), float((~pred & gold).sum())))
    scores_array = np.array(scores)
    best = np.flatnonzero(scores_array == scores_array.max())
    return float(candidates[best[np.argmin(np.abs(candidates[best] - 0.5))]])


def fit_temperature(probs: np.ndarray, gold: np.ndarray) -> float:
    """Temperature minimising the negative log-likelihood of softmax(log p / T) on held-out data."""
    log_probs = np.log(np.clip(probs, 1e-12, 1))

    def nll(temperature: float) -> float:
        scaled = log_probs / temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scaled).sum(axis=1))
        return float(-(scaled[np.arange(len(gold)), gold] - log_norm).mean())

    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 121))
    return float(grid[int(np.argmin([nll(t) for t in grid]))])


def share_errors(
    gold: dict[str, np.ndarray], predicted: dict[str, np.ndarray], expected: dict[str, np.ndarray]
) -> dict[str, Any]:
    """How well each way of estimating a label's share of comments recovers its gold share: per label the gold
    share, classify-and-count (share predicted) and the calibrated expected share (mean probability), and per
    method the mean absolute error over the labels. Rows whose gold is unknown (-1) are left out per label."""
    per_label: dict[str, dict[str, float]] = {}
    for label, truth in gold.items():
        known = truth >= 0
        if not known.any():
            continue
        per_label[label] = {
            "gold": float(truth[known].mean()),
            "classify_and_count": float(predicted[label][known].mean()),
            "expected": float(expected[label][known].mean()),
        }
    errors = {
        method: float(np.mean([abs(row[method] - row["gold"]) for row in per_label.values()])) if per_label else 0.0
        for method in ("classify_and_count", "expected")
    }
    return {"per_label": per_label, "mean_absolute_error": errors}
