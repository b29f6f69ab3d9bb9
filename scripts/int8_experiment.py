"""Which int8 recipe keeps the encoder's accuracy: each variant quantizes the folder's fp32 ONNX graph, is put in
the model in place of its runtime (blend, thresholds and temperature unchanged), and is scored on dev and test
(macro-F1 of barriers and sentiment) and timed (comments/s, 1 thread, the test comments in batches of 32), all in
one run beside torch and ONNX fp32.

    python scripts/int8_experiment.py --model models/default --json training/results/int8.json

Variants: the shipped dynamic recipe (per-tensor, feed-forward outputs after GELU left fp32), dynamic per-channel
(with and without those MatMuls), and static QDQ calibrated on training comments (MinMax and percentile). Nothing
in the model folder changes.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from feedbackml.data.records import load_labelled
from feedbackml.export import _fed_by
from feedbackml.labels import label_arrays
from feedbackml.metrics import run_scores
from feedbackml.model import load_model
from feedbackml.model.backends import ONNX_FILES, OnnxBackend, make_session

VARIANTS: dict[str, dict[str, Any]] = {
    "dynamic, per-tensor, GELU-fed fp32 (shipped)": {"mode": "dynamic", "per_channel": False, "skip_gelu": True},
    "dynamic, per-channel, GELU-fed fp32": {"mode": "dynamic", "per_channel": True, "skip_gelu": True},
    "dynamic, per-channel, all MatMul": {"mode": "dynamic", "per_channel": True, "skip_gelu": False},
    "static QDQ MinMax, per-channel, GELU-fed fp32": {"mode": "static", "method": "MinMax", "skip_gelu": True},
    "static QDQ percentile, per-channel, all MatMul": {"mode": "static", "method": "Percentile", "skip_gelu": False},
}


def quantize(fp32: Path, out: Path, variant: dict[str, Any], model: Any, calibration_texts: list[str]) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    exclude = _fed_by(fp32, {"Gelu"}) if variant["skip_gelu"] else []
    if variant["mode"] == "dynamic":
        quantize_dynamic(
            fp32,
            out,
            weight_type=QuantType.QInt8,
            per_channel=variant["per_channel"],
            op_types_to_quantize=["MatMul", "Gather"],
            nodes_to_exclude=exclude,
        )
        return

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            batches = [calibration_texts[i : i + 16] for i in range(0, len(calibration_texts), 16)]
            padded = [model.padded(b) for b in batches]
            # the histogram calibrators (percentile, entropy) stack every batch: one sequence length for all
            width = max(ids.shape[1] for ids, _ in padded)
            self.items = iter(
                {
                    "input_ids": np.pad(ids, ((0, 0), (0, width - ids.shape[1])), constant_values=model.pad_id),
                    "attention_mask": np.pad(mask, ((0, 0), (0, width - mask.shape[1]))),
                }
                for ids, mask in padded
            )

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.items, None)

    quantize_static(
        fp32,
        out,
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul"],
        nodes_to_exclude=exclude,
        calibrate_method=getattr(CalibrationMethod, variant["method"]),
        extra_options={"CalibPercentile": 99.99} if variant["method"] == "Percentile" else {},
    )


def scores(model: Any, records: list[Any]) -> dict[str, float]:
    probs = model.probabilities([r.text for r in records])
    gold_barriers, gold_sentiments = label_arrays(records)
    result = run_scores(gold_barriers, gold_sentiments, *model.calibration.decide(probs.barriers, probs.sentiment))
    return {
        "barriers": round(result["barriers"]["macro_f1"], 4),
        "sentiment": round(result["sentiment"]["macro_f1"], 4),
    }


def speed(model: Any, texts: list[str]) -> float:
    model.probabilities(texts[:32])
    started = time.perf_counter()
    for start in range(0, len(texts), 32):
        model.probabilities(texts[start : start + 32])
    return round(len(texts) / (time.perf_counter() - started), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/default"))
    parser.add_argument("--calibration", type=int, default=256, help="training comments to calibrate on")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    dev = load_labelled([Path("data/labelled/dev.jsonl")])
    test = load_labelled([Path("data/labelled/test.jsonl")])
    train = load_labelled([Path("data/labelled/train.jsonl")])
    rng = np.random.default_rng(0)
    calibration = [train[i].text for i in rng.choice(len(train), args.calibration, replace=False)]
    texts = [r.text for r in test]
    results: dict[str, Any] = {}
    for runtime in ("torch", "onnx"):
        model = load_model(args.model, runtime=runtime, threads=1)
        results[runtime] = {
            "dev": scores(model, dev),
            "test": scores(model, test),
            "comments_per_s": speed(model, texts),
        }
        print(runtime, results[runtime], flush=True)
    model = load_model(args.model, runtime="onnx", threads=1)
    fp32 = args.model / ONNX_FILES["onnx"]
    with tempfile.TemporaryDirectory() as folder:
        for name, variant in VARIANTS.items():
            out = Path(folder) / "variant.onnx"
            quantize(fp32, out, variant, model, calibration)
            model.backend = OnnxBackend(make_session(out, threads=1), "onnx-int8")
            row = {"dev": scores(model, dev), "test": scores(model, test), "comments_per_s": speed(model, texts)}
            row["speed_vs_torch"] = round(row["comments_per_s"] / results["torch"]["comments_per_s"], 2)
            row["loss_pt"] = {
                split: {head: round(100 * (results["torch"][split][head] - row[split][head]), 2) for head in row[split]}
                for split in ("dev", "test")
            }
            results[name] = row
            print(name, row, flush=True)
            out.unlink()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
