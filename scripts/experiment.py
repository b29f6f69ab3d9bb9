"""One row of the model card's ablation table or learning curve: train the default recipe with overrides on a
share of the training split, then score it on the test split and the OOD set (blend, encoder alone, TF-IDF alone).

    python scripts/experiment.py --name lr-decay-0.8 layer_lr_decay=0.8
    python scripts/experiment.py --name curve-25 --fraction 0.25

Writes training/results/<name>.json. The OOD set is only ever scored here, never used to choose anything
inside a run; comparing rows is how a person picks a recipe, and the card says which rows were compared.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from feedbackml.config import load_config
from feedbackml.data.records import load_labelled
from feedbackml.evaluate import build_report
from feedbackml.model import load_baseline, load_model
from feedbackml.model.devices import resolve_device
from feedbackml.trainer import train

SETS = {"test": Path("data/labelled/test.jsonl"), "ood": Path("data/ood/test.jsonl")}


def headline(report: dict[str, Any]) -> dict[str, Any]:
    row = {
        "barriers_macro_f1": [report["barriers"]["macro_f1"], *report["barriers"]["macro_f1_ci95"]],
        "sentiment_macro_f1": [report["sentiment"]["macro_f1"], *report["sentiment"]["macro_f1_ci95"]],
    }
    if "causes" in report:
        row["causes_micro_f1"] = [report["causes"]["micro_f1"], *report["causes"]["micro_f1_ci95"]]
    abstain = report["abstain"]
    row["coverage"] = abstain["coverage"]
    for side in ("answered", "flagged_metrics"):
        if abstain[side]:
            row[side] = {k: abstain[side][k] for k in ("barriers.macro_f1", "sentiment.macro_f1")}
    return row


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True)
    parser.add_argument("--config", default="training/default.yaml")
    parser.add_argument("--fraction", type=float, default=1.0, help="share of the training split to train on")
    parser.add_argument("--seed", type=int, default=0, help="which records the fraction keeps")
    parser.add_argument("--results", type=Path, default=Path("training/results"))
    parser.add_argument("--keep", type=Path, help="keep the trained model folder here")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("overrides", nargs="*", help="key=value overrides of the config")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="feedbackml-experiment-") as scratch:
        out = args.keep or Path(scratch) / "model"
        overrides = [*args.overrides, f"out={out}"]
        if not any(o.startswith("export_runtimes=") for o in overrides):
            overrides.append("export_runtimes=false")  # the runtimes are measured on the shipped model only
        config = load_config(args.config, overrides)
        if args.fraction < 1:
            lines = [ln for p in config.data.train for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
            kept = random.Random(args.seed).sample(lines, round(len(lines) * args.fraction))
            subset = Path(scratch) / "train.jsonl"
            subset.write_text("\n".join(kept) + "\n", encoding="utf-8")
            config = config.model_copy(update={"data": config.data.model_copy(update={"train": [subset]})})
        started = time.perf_counter()
        result = train(config)
        # score where it trained (the CUDA card when there is one), in the precision it trained in
        model = load_model(result.path, device=config.device, precision="fp32")
        baseline = load_baseline(result.path)
        row: dict[str, Any] = {
            "name": args.name,
            "overrides": args.overrides,
            "fraction": args.fraction,
            "train_size": model.meta.get("train_size"),
            "train_seconds": round(time.perf_counter() - started, 1),
            "epochs": result.epochs,
            "best_epoch": model.meta.get("base_model", {}).get("best_epoch"),
            "companion_weight": getattr(model, "companion_weight", 0.0),
            "device": resolve_device(config.device),
            "dev": {
                "barriers_macro_f1": result.dev_metrics["barriers"]["macro_f1"],
                "sentiment_macro_f1": result.dev_metrics["sentiment"]["macro_f1"],
            },
        }
        for name, path in SETS.items():
            records = load_labelled([path])
            row[name] = {"model": headline(build_report(model, records, resamples=args.resamples))}
            if getattr(model, "companion", None) is not None:
                companion = model.companion
                model.companion = None
                row[name]["encoder_alone"] = headline(build_report(model, records, resamples=args.resamples))
                model.companion = companion
            if baseline is not None:
                row[name]["tfidf_alone"] = headline(build_report(baseline, records, resamples=args.resamples))
    args.results.mkdir(parents=True, exist_ok=True)
    target = args.results / f"{args.name}.json"
    temporary = target.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(row, ensure_ascii=False, indent=1), encoding="utf-8")
    temporary.replace(target)
    print(json.dumps({k: row[k] for k in ("name", "dev", "train_seconds")}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
