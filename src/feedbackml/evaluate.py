"""``evaluate`` and ``compare``: the figures a data scientist decides on, with their uncertainty.

``evaluate`` writes ``report.json`` (machine-readable), ``report.md`` with PNG charts (human-readable), and
``errors.jsonl`` (every misclassified id with gold and predicted labels). ``compare`` scores two models on the
same rows and gives a paired-bootstrap p-value for each headline metric.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from feedbackml.data.records import LabelledRecord
from feedbackml.evaluate_markdown import render_markdown
from feedbackml.io import atomic_path, write_jsonl
from feedbackml.labels import BARRIER_OF_CAUSE, BARRIERS, CAUSES, SENTIMENTS, cause_arrays, label_arrays
from feedbackml.metrics import (
    bootstrap_interval,
    cause_scores,
    expected_calibration_error,
    paired_bootstrap_p,
    run_scores,
    share_errors,
)
from feedbackml.model import Classifier

LENGTH_BUCKETS = ((0, 15, "<15"), (15, 60, "15-59"), (60, 150, "60-149"), (150, 10**9, "150+"))


@dataclass
class Scored:
    """Gold and predicted labels of one model on one data set, row-aligned."""

    records: list[LabelledRecord]
    gold_barriers: np.ndarray
    gold_sentiments: np.ndarray
    barrier_probs: np.ndarray
    sentiment_probs: np.ndarray
    pred_barriers: np.ndarray
    pred_sentiments: np.ndarray
    needs_review: np.ndarray
    gold_causes: np.ndarray  # -1 rows: no cause labels
    pred_causes: np.ndarray
    cause_probs: np.ndarray  # given the cause's barrier; (n, 0) without a cause head

    predicts_causes: bool  # the model has a cause head (folders made before causes have none)

    @property
    def judges_causes(self) -> bool:
        """The model predicts causes and some records carry cause labels."""
        return self.predicts_causes and bool((self.gold_causes >= 0).any())


def score_model(model: Classifier, records: list[LabelledRecord]) -> Scored:
    probs = model.probabilities([r.text for r in records])
    barrier_probs, sentiment_probs = probs.barriers, probs.sentiment
    gold_barriers, gold_sentiments = label_arrays(records)
    pred_barriers, pred_sentiments = model.calibration.decide(barrier_probs, sentiment_probs)
    return Scored(
        records,
        gold_barriers,
        gold_sentiments,
        barrier_probs,
        sentiment_probs,
        pred_barriers,
        pred_sentiments,
        model.calibration.needs_review(barrier_probs, sentiment_probs, probs.disagree),
        cause_arrays(records),
        model.calibration.decide_causes(probs.causes, pred_barriers),
        probs.causes,
        bool(model.calibration.cause_thresholds),
    )


def _headline(s: Scored, rows: np.ndarray | slice = slice(None)) -> dict[str, float]:
    scores = run_scores(s.gold_barriers[rows], s.gold_sentiments[rows], s.pred_barriers[rows], s.pred_sentiments[rows])
    barriers, sentiment = scores["barriers"], scores["sentiment"]
    return {
        "barriers.macro_f1": barriers["macro_f1"],
        "barriers.micro_f1": barriers["micro_f1"],
        "barriers.exact_match": barriers["exact_match"],
        **{f"barriers.{label}.f1": barriers["per_label"][label]["f1"] for label in BARRIERS},
        "sentiment.macro_f1": sentiment["macro_f1"],
        "sentiment.accuracy": sentiment["accuracy"],
    }


def _slices(s: Scored) -> dict[str, dict[str, Any]]:
    groups: dict[str, dict[str, list[int]]] = {"length": {}, "source": {}, "department": {}}
    for index, record in enumerate(s.records):
        length = len(record.text)
        bucket = next(name for low, high, name in LENGTH_BUCKETS if low <= length < high)
        groups["length"].setdefault(bucket, []).append(index)
        if record.source:
            groups["source"].setdefault(record.source, []).append(index)
        if record.department:
            groups["department"].setdefault(record.department, []).append(index)
    result: dict[str, dict[str, Any]] = {}
    for kind, members in groups.items():
        if kind == "department" and len(members) > 30:
            continue  # free-text departments with one or two comments each say nothing per slice
        order = [name for _, _, name in LENGTH_BUCKETS] if kind == "length" else sorted(members)
        result[kind] = {
            name: {
                "n": len(members[name]),
                **{k: round(v, 4) for k, v in _headline(s, np.array(members[name])).items()},
            }
            for name in order
            if name in members
        }
    return result


def build_report(model: Classifier, records: list[LabelledRecord], *, resamples: int = 1000, seed: int = 0) -> dict:
    """Everything report.json holds: headline metrics with bootstrap 95% intervals, per-label detail,
    confusion, co-occurrence, calibration, slices and abstention."""
    return _report(model, score_model(model, records), resamples=resamples, seed=seed)


def _report(model: Classifier, s: Scored, *, resamples: int, seed: int) -> dict:
    n = len(s.records)
    scores = run_scores(s.gold_barriers, s.gold_sentiments, s.pred_barriers, s.pred_sentiments)
    barriers, sentiment = scores["barriers"], scores["sentiment"]
    intervals = {}
    for key in _headline(s):
        intervals[key] = bootstrap_interval(
            lambda rows, key=key: _headline(s, rows)[key], n, resamples=resamples, seed=seed
        )
    for label in BARRIERS:
        barriers["per_label"][label]["f1_ci95"] = intervals[f"barriers.{label}.f1"]
    barriers["macro_f1_ci95"] = intervals["barriers.macro_f1"]
    barriers["micro_f1_ci95"] = intervals["barriers.micro_f1"]
    sentiment["macro_f1_ci95"] = intervals["sentiment.macro_f1"]
    sentiment["accuracy_ci95"] = intervals["sentiment.accuracy"]

    causes = None
    if s.judges_causes:
        causes = cause_scores(s.gold_barriers, s.gold_causes, s.pred_causes)
        causes["micro_f1_ci95"] = bootstrap_interval(
            lambda rows: cause_scores(s.gold_barriers[rows], s.gold_causes[rows], s.pred_causes[rows])["micro_f1"],
            n,
            resamples=resamples,
            seed=seed,
        )
    co_gold = (s.gold_barriers.T.astype(int) @ s.gold_barriers.astype(int)).tolist()
    co_pred = (s.pred_barriers.T.astype(int) @ s.pred_barriers.astype(int)).tolist()
    sentiment_confidence = s.sentiment_probs.max(axis=1)
    kept = ~s.needs_review
    return {
        "n": n,
        "model": {
            "kind": model.kind,
            "version": model.version,
            "runtime": model.runtime,
            "base": model.meta.get("base_model", {}),
        },
        "barriers": barriers,
        "sentiment": sentiment,
        **({"causes": causes} if causes else {}),
        "co_occurrence": {"labels": list(BARRIERS), "gold": co_gold, "predicted": co_pred},
        "shares": share_errors(*_share_inputs(s)),
        "calibration": {
            "sentiment": expected_calibration_error(sentiment_confidence, s.pred_sentiments == s.gold_sentiments),
            # A barrier probability claims "present with probability p": compare it with how often it is present.
            "barriers": expected_calibration_error(s.barrier_probs.ravel(), s.gold_barriers.ravel().astype(float)),
        },
        "abstain": {
            "flagged": int(s.needs_review.sum()),
            "coverage": float(kept.mean()) if n else 0.0,
            "answered": _headline(s, np.flatnonzero(kept)) if kept.any() else {},
            "flagged_metrics": _headline(s, np.flatnonzero(~kept)) if (~kept).any() else {},
        },
        "slices": _slices(s),
    }


def _share_inputs(s: Scored) -> tuple[dict[str, np.ndarray], ...]:
    """Gold, predicted and expected presence per barrier, negative sentiment and (with a cause head) cause; a
    cause's expected presence is its probability times its barrier's."""
    negative = SENTIMENTS.index("negative")
    gold = {b: s.gold_barriers[:, i].astype(float) for i, b in enumerate(BARRIERS)}
    predicted = {b: s.pred_barriers[:, i].astype(float) for i, b in enumerate(BARRIERS)}
    expected = {b: s.barrier_probs[:, i] for i, b in enumerate(BARRIERS)}
    gold["negative"] = (s.gold_sentiments == negative).astype(float)
    predicted["negative"] = (s.pred_sentiments == negative).astype(float)
    expected["negative"] = s.sentiment_probs[:, negative]
    if s.judges_causes and s.cause_probs.shape[1] == len(CAUSES):
        for i, cause in enumerate(CAUSES):
            gold[cause] = s.gold_causes[:, i].astype(float)
            predicted[cause] = s.pred_causes[:, i].astype(float)
            expected[cause] = s.cause_probs[:, i] * s.barrier_probs[:, BARRIERS.index(BARRIER_OF_CAUSE[cause])]
    return gold, predicted, expected


def error_rows(s: Scored) -> list[dict[str, Any]]:
    rows = []
    for index, record in enumerate(s.records):
        gold_b = [label for column, label in enumerate(BARRIERS) if s.gold_barriers[index, column]]
        pred_b = [label for column, label in enumerate(BARRIERS) if s.pred_barriers[index, column]]
        gold_s, pred_s = SENTIMENTS[s.gold_sentiments[index]], SENTIMENTS[s.pred_sentiments[index]]
        if gold_b != pred_b or gold_s != pred_s:
            rows.append(
                {
                    "id": record.id,
                    "barriers": {"gold": gold_b, "predicted": pred_b},
                    "sentiment": {"gold": gold_s, "predicted": pred_s},
                    "barrier_probs": {
                        label: round(float(p), 4) for label, p in zip(BARRIERS, s.barrier_probs[index], strict=True)
                    },
                    "needs_review": bool(s.needs_review[index]),
                }
            )
    return rows


def evaluate(
    model: Classifier,
    records: list[LabelledRecord],
    out_dir: str | Path,
    *,
    resamples: int = 1000,
    baseline: Classifier | None = None,
) -> dict:
    """Score the model on labelled records and write report.json, report.md, charts and errors.jsonl. With a
    baseline (the TF-IDF model stored beside an encoder), the report sets the two side by side."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s = score_model(model, records)  # once: the report, the comparison and the errors all read it
    report = _report(model, s, resamples=resamples, seed=0)
    if baseline is not None:
        versus = _compare(baseline, model, score_model(baseline, records), s, resamples=resamples, seed=0)
        report["versus_baseline"] = versus["metrics"]
    write_jsonl(out / "errors.jsonl", error_rows(s))
    charts = _charts(report, s, out)
    with atomic_path(out / "report.json") as temporary:
        temporary.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    with atomic_path(out / "report.md") as temporary:
        temporary.write_text(render_markdown(report, charts), encoding="utf-8")  # evaluate_markdown.py
    return report


def _charts(report: dict, s: Scored, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    labels = list(BARRIERS)
    f1 = [report["barriers"]["per_label"][label]["f1"] for label in labels]
    low = [f1[i] - report["barriers"]["per_label"][label]["f1_ci95"][0] for i, label in enumerate(labels)]
    high = [report["barriers"]["per_label"][label]["f1_ci95"][1] - f1[i] for i, label in enumerate(labels)]
    axes[0].bar(labels, f1, yerr=[low, high], capsize=4, color="#4c72b0")
    axes[0].set_ylim(0, 1)
    axes[0].set_title("Barrier F1 (95% bootstrap interval)")
    confusion = np.array(report["sentiment"]["confusion"])
    axes[1].imshow(confusion, cmap="Blues")
    axes[1].set_xticks(range(3), SENTIMENTS)
    axes[1].set_yticks(range(3), SENTIMENTS)
    axes[1].set_xlabel("predicted")
    axes[1].set_ylabel("gold")
    for (i, j), value in np.ndenumerate(confusion):
        axes[1].text(
            j, i, str(value), ha="center", va="center", color="white" if value > confusion.max() / 2 else "black"
        )
    axes[1].set_title("Sentiment confusion")
    figure.tight_layout()
    figure.savefig(out / "metrics.png", dpi=110)
    plt.close(figure)
    written.append("metrics.png")

    figure, axis = plt.subplots(figsize=(4.5, 4))
    bins = report["calibration"]["sentiment"]["bins"]
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey")
    axis.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o")
    axis.set_xlabel("confidence")
    axis.set_ylabel("accuracy")
    axis.set_title(f"Sentiment reliability (ECE {report['calibration']['sentiment']['ece']:.3f})")
    figure.tight_layout()
    figure.savefig(out / "reliability.png", dpi=110)
    plt.close(figure)
    written.append("reliability.png")
    return written


def compare(
    model_a: Classifier, model_b: Classifier, records: list[LabelledRecord], *, resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Headline metrics of A and B on the same rows, the difference B − A and its paired-bootstrap p-value."""
    return _compare(
        model_a, model_b, score_model(model_a, records), score_model(model_b, records), resamples=resamples, seed=seed
    )


def _compare(
    model_a: Classifier, model_b: Classifier, a: Scored, b: Scored, *, resamples: int, seed: int
) -> dict[str, Any]:
    n = len(a.records)
    headline_a, headline_b = _headline(a), _headline(b)
    result: dict[str, Any] = {
        "n": n,
        "a": {"kind": model_a.kind, "version": model_a.version},
        "b": {"kind": model_b.kind, "version": model_b.version},
        "metrics": {},
    }
    for key in headline_a:
        p = paired_bootstrap_p(
            lambda rows, key=key: _headline(b, rows)[key] - _headline(a, rows)[key], n, resamples=resamples, seed=seed
        )
        result["metrics"][key] = {
            "a": headline_a[key],
            "b": headline_b[key],
            "difference": headline_b[key] - headline_a[key],
            "p_value": p,
        }
    return result


def format_comparison(result: dict[str, Any]) -> str:
    lines = [
        f"{result['n']} comments; A = {result['a']['kind']} {result['a']['version']}, "
        f"B = {result['b']['kind']} {result['b']['version']}",
        "",
        f"{'metric':<34}{'A':>8}{'B':>8}{'B - A':>9}{'p':>8}",
    ]
    for key, row in result["metrics"].items():
        lines.append(f"{key:<34}{row['a']:>8.3f}{row['b']:>8.3f}{row['difference']:>+9.3f}{row['p_value']:>8.3f}")
    lines += ["", "p: paired bootstrap over comments, two-sided; B is better where B - A > 0 and p < 0.05."]
    return "\n".join(lines)
