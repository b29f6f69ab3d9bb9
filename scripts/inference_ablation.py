"""Inference-time rows of the model card's ablation table, on one trained folder (no retraining): the blend against
the encoder alone and TF-IDF alone, on the test split and the OOD set, and robustness with and without the
traditional → simplified step of normalisation.

    python scripts/inference_ablation.py --model models/default --out training/results/default-inference.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import feedbackml.text
from feedbackml.data.records import load_labelled
from feedbackml.evaluate import build_report
from feedbackml.model import Classifier, EncoderClassifier, load_baseline, load_model
from feedbackml.robustness import robustness_report

SETS = {"test": Path("data/labelled/test.jsonl"), "ood": Path("data/ood/test.jsonl")}


def headline(report: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "barriers_macro_f1": [report["barriers"]["macro_f1"], *report["barriers"]["macro_f1_ci95"]],
        "sentiment_macro_f1": [report["sentiment"]["macro_f1"], *report["sentiment"]["macro_f1_ci95"]],
        "coverage": report["abstain"]["coverage"],
    }
    if "causes" in report:
        row["causes_micro_f1"] = [report["causes"]["micro_f1"], *report["causes"]["micro_f1_ci95"]]
    for side in ("answered", "flagged_metrics"):
        if report["abstain"][side]:
            row[side] = {k: report["abstain"][side][k] for k in ("barriers.macro_f1", "sentiment.macro_f1")}
    return row


def members(model: Classifier, baseline: Classifier | None) -> dict[str, Classifier]:
    found = {"blend": model}
    if isinstance(model, EncoderClassifier) and model.companion is not None:
        alone = EncoderClassifier(
            model.backend,
            model.tokenizer,
            max_length=model.max_length,
            text_prefix=model.text_prefix,
            pooling=model.pooling,
            batch_size=model.batch_size,
            calibration=model.calibration,
            meta=model.meta,
        )
        found["encoder_alone"] = alone
    if baseline is not None:
        found["tfidf_alone"] = baseline
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--runtime", default="auto")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--comments", type=int, default=300)
    parser.add_argument("--no-robustness", action="store_true", help="headline figures only (another runtime)")
    args = parser.parse_args(argv)
    model = load_model(args.model, runtime=args.runtime)
    result: dict[str, Any] = {"model": str(args.model), "runtime": model.runtime, "version": model.version}
    test_records = load_labelled([SETS["test"]])
    for name, member in members(model, load_baseline(args.model)).items():
        result[name] = {
            split: headline(build_report(member, load_labelled([path]), resamples=args.resamples))
            for split, path in SETS.items()
        }
        if not args.no_robustness:
            result[name]["robustness"] = robustness_report(member, test_records, comments=args.comments)
    if args.no_robustness:
        return _write(args.out, result)
    # the same comments and variants with normalisation's traditional → simplified step switched off
    converter = feedbackml.text.to_simplified
    feedbackml.text.to_simplified = lambda text: text
    try:
        result["blend_without_t2s"] = {"robustness": robustness_report(model, test_records, comments=args.comments)}
    finally:
        feedbackml.text.to_simplified = converter
    return _write(args.out, result)


def _write(out: Path, result: dict[str, Any]) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_suffix(".tmp")
    temporary.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    temporary.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
