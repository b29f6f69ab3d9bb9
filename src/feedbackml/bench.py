"""``run_bench``: how fast each runtime scores the same comments on this machine, against its own compute ceiling.

In one run, on the same comments: comments/s and latency for torch fp32, ONNX fp32 and ONNX int8, one comment
per call and 32 per call, with and without evidence; the machine's own GEMM rate (fp32 and int8, encoder-like
shapes, the same threads); FLOPs per comment from the encoder's shape and the real token counts; and the
macro-F1 of each runtime on the labelled comments. The runtimes take turns on every chunk, so a neighbour's load
on shared cores hits all of them alike: the ratios between runtimes are the claim, not the absolute rates.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from feedbackml.artifacts import read_json
from feedbackml.data.records import load_labelled
from feedbackml.labels import BARRIERS, SENTIMENTS, label_arrays
from feedbackml.metrics import run_scores
from feedbackml.model import RUNTIMES, Classifier, EncoderClassifier, Prediction, load_model
from feedbackml.text import normalize

BATCH_SIZES = (1, 32)
QUICK_ROWS, QUICK_EVIDENCE_ROWS = 16, 2
EVIDENCE_ROWS = 48
Log = Callable[[str], None]


# --- the compute ceiling ---------------------------------------------------------------------------------


def encoder_shape(folder: Path) -> dict[str, int]:
    config = read_json(folder / "encoder" / "config.json")
    return {
        key: int(config[key])
        for key in ("num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads")
    }


def encoder_flops(tokens: int, shape: dict[str, int]) -> float:
    """Multiply-adds ×2 of one forward over ``tokens`` tokens: per layer the Q, K, V and output projections
    (4·2·L·H²), the feed-forward (2·2·L·H·I), and attention scores and weighted values (2·2·L²·H, summed over
    heads); then the two heads. Embedding lookups, softmax, norms and pooling are a few percent and left out."""
    length, hidden, inner = tokens, shape["hidden_size"], shape["intermediate_size"]
    per_layer = 8 * length * hidden**2 + 4 * length * hidden * inner + 4 * length**2 * hidden
    return float(shape["num_hidden_layers"] * per_layer + 2 * hidden * (len(BARRIERS) + len(SENTIMENTS)))


def _gemm_shapes(shape: dict[str, int], rows: int) -> list[tuple[int, int, int]]:
    """One encoder layer's projections for ``rows`` tokens: Q, K, V, output (H→H), then H→I and I→H."""
    hidden, inner = shape["hidden_size"], shape["intermediate_size"]
    return [(rows, hidden, hidden)] * 4 + [(rows, hidden, inner), (rows, inner, hidden)]


def _rate(run: Callable[[], None], flops: float, min_seconds: float) -> float:
    run()  # warm-up
    repeats, started = 0, time.perf_counter()
    while True:
        run()
        repeats += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return flops * repeats / elapsed


def gemm_rates(shape: dict[str, int], *, threads: int, rows: int = 1024, min_seconds: float = 1.0) -> dict[str, Any]:
    """GFLOP/s (GOP/s for int8) of one encoder layer's GEMMs on this machine with ``threads`` threads: torch
    fp32, ONNX Runtime fp32 (MatMul) and ONNX Runtime int8 (MatMulInteger, the kernel of dynamic quantization)."""
    import torch
    from onnx import TensorProto, helper, numpy_helper

    from feedbackml.model.backends import make_session

    shapes = _gemm_shapes(shape, rows)
    flops = float(sum(2 * m * k * n for m, k, n in shapes))
    rng = np.random.default_rng(0)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        pairs = [(torch.randn(m, k), torch.randn(k, n)) for m, k, n in shapes]

        def run_torch() -> None:
            with torch.inference_mode():
                for a, b in pairs:
                    torch.matmul(a, b)

        torch_rate = _rate(run_torch, flops, min_seconds)
    finally:
        torch.set_num_threads(before)

    def ort_rate(int8: bool) -> float:
        nodes, inputs, weights, feeds = [], [], [], {}
        for index, (m, k, n) in enumerate(shapes):
            kind = TensorProto.UINT8 if int8 else TensorProto.FLOAT
            inputs.append(helper.make_tensor_value_info(f"a{index}", kind, [m, k]))
            if int8:
                weight = rng.integers(-127, 128, (k, n), dtype=np.int8)
                feeds[f"a{index}"] = rng.integers(0, 256, (m, k), dtype=np.uint8)
            else:
                weight = rng.standard_normal((k, n), dtype=np.float32)
                feeds[f"a{index}"] = rng.standard_normal((m, k), dtype=np.float32)
            weights.append(numpy_helper.from_array(weight, f"w{index}"))
            nodes.append(
                helper.make_node("MatMulInteger" if int8 else "MatMul", [f"a{index}", f"w{index}"], [f"y{index}"])
            )
        outputs = [
            helper.make_tensor_value_info(f"y{i}", TensorProto.INT32 if int8 else TensorProto.FLOAT, None)
            for i in range(len(shapes))
        ]
        graph = helper.make_graph(nodes, "gemm", inputs, outputs, weights)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        session = make_session(model.SerializeToString(), threads)
        return _rate(lambda: session.run(None, feeds), flops, min_seconds)

    return {
        "shapes": [list(s) for s in shapes],
        "torch_fp32_gflops": round(torch_rate / 1e9, 2),
        "ort_fp32_gflops": round(ort_rate(False) / 1e9, 2),
        "ort_int8_gops": round(ort_rate(True) / 1e9, 2),
    }


# --- throughput -----------------------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else 0.0


def _timed(
    models: dict[str, Classifier], texts: list[str], batch: int, evidence: bool
) -> tuple[dict[str, list[float]], dict[str, list[Prediction]]]:
    """Every runtime scores every chunk of ``batch`` comments, taking turns in a rotating order."""
    seconds: dict[str, list[float]] = {name: [] for name in models}
    outputs: dict[str, list[Prediction]] = {name: [] for name in models}
    names = list(models)
    for number, start in enumerate(range(0, len(texts), batch)):
        chunk = texts[start : start + batch]
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            began = time.perf_counter()
            predictions = models[name].predict(chunk, evidence=evidence)
            seconds[name].append(time.perf_counter() - began)
            outputs[name].extend(predictions)
    return seconds, outputs


def _quality(predictions: list[Prediction], gold_barriers: np.ndarray, gold_sentiments: np.ndarray) -> dict[str, float]:
    scores = run_scores(gold_barriers, gold_sentiments, *label_arrays(predictions))
    return {
        "barriers_macro_f1": round(scores["barriers"]["macro_f1"], 4),
        "sentiment_macro_f1": round(scores["sentiment"]["macro_f1"], 4),
    }


def run_bench(
    folder: str | Path,
    data: str | Path,
    *,
    quick: bool = False,
    rows: int | None = None,
    evidence_rows: int | None = None,
    threads: int = 1,
    log: Log = print,
) -> dict[str, Any]:
    """Benchmark the three runtimes of an exported encoder folder on labelled comments (see the module doc).
    ``quick``: 16 comments, 2 with evidence and a short GEMM timing (for tests)."""
    import torch

    folder = Path(folder)
    records = load_labelled([data])
    records = records[: rows or (QUICK_ROWS if quick else len(records))]
    texts = [r.text for r in records]
    evidence_texts = texts[: evidence_rows or (QUICK_EVIDENCE_ROWS if quick else EVIDENCE_ROWS)]
    gold_barriers, gold_sentiments = label_arrays(records)
    load_before = os.getloadavg()[0]

    torch.set_num_threads(threads)
    models: dict[str, Classifier] = {"torch": load_model(folder, runtime="torch")}  # verifies the folder once
    for runtime in RUNTIMES[1:]:
        models[runtime] = load_model(folder, verify=False, runtime=runtime, threads=threads)
    reference = models["torch"]
    if not isinstance(reference, EncoderClassifier):
        raise ValueError(f"{folder}: bench needs an encoder model (expected kind encoder)")
    for model in models.values():
        model.predict(texts[:2], evidence=True)  # lazy initialisation is not part of any figure

    shape = encoder_shape(folder)
    pieces = reference.encode_pieces([normalize(t) for t in texts])[1]
    tokens_per_comment = len(pieces) and sum(len(ids) for ids in pieces) / len(texts)
    flops = sum(encoder_flops(len(ids), shape) for ids in pieces) / len(texts)
    log(f"{len(texts)} comments, {tokens_per_comment:.1f} tokens and {flops / 1e9:.3f} GFLOP each; timing GEMMs")
    gemm = gemm_rates(shape, threads=threads, rows=256 if quick else 1024, min_seconds=0.2 if quick else 2.0)
    ceiling = max(gemm["torch_fp32_gflops"], gemm["ort_fp32_gflops"]) * 1e9

    runs: list[dict[str, Any]] = []
    quality: dict[str, dict[str, float]] = {}
    for evidence in (False, True):
        subset = evidence_texts if evidence else texts
        for batch in BATCH_SIZES:
            log(f"timing batch {batch}{' with evidence' if evidence else ''} on {len(subset)} comments")
            seconds, outputs = _timed(models, subset, batch, evidence)
            for runtime, times in seconds.items():
                rate = len(subset) / sum(times)
                row = {
                    "runtime": runtime,
                    "batch": batch,
                    "evidence": evidence,
                    "n": len(subset),
                    "comments_per_s": round(rate, 2),
                    "latency_ms_p50": round(_percentile(times, 50) * 1000, 2),
                    "latency_ms_p99": round(_percentile(times, 99) * 1000, 2),
                    # evidence adds one forward per content word: its FLOPs are not the comment's, so no fraction
                    "fp32_ceiling_fraction": None if evidence else round(rate * flops / ceiling, 4),
                }
                if runtime == "onnx-int8" and not evidence:
                    row["int8_ceiling_fraction"] = round(rate * flops / (gemm["ort_int8_gops"] * 1e9), 4)
                runs.append(row)
                if batch == max(BATCH_SIZES) and not evidence:
                    quality[runtime] = _quality(outputs[runtime], gold_barriers, gold_sentiments)

    def rate_of(runtime: str, batch: int, evidence: bool) -> float:
        return next(
            r["comments_per_s"] for r in runs if (r["runtime"], r["batch"], r["evidence"]) == (runtime, batch, evidence)
        )

    ratios = {
        f"{runtime}_vs_torch_batch{batch}{'_evidence' if evidence else ''}": round(
            rate_of(runtime, batch, evidence) / rate_of("torch", batch, evidence), 3
        )
        for runtime in RUNTIMES[1:]
        for batch in BATCH_SIZES
        for evidence in (False, True)
    }
    # what evidence multiplies the time by, on the very comments timed with evidence
    plain = {batch: _timed(models, evidence_texts, batch, False)[0] for batch in BATCH_SIZES}
    evidence_cost = {
        f"{runtime}_batch{batch}": round(
            len(evidence_texts) / rate_of(runtime, batch, True) / sum(plain[batch][runtime]), 2
        )
        for runtime in RUNTIMES
        for batch in BATCH_SIZES
    }
    loss = {
        runtime: {
            key: round(quality["torch"][key] - quality[runtime][key], 4)
            for key in ("barriers_macro_f1", "sentiment_macro_f1")
        }
        for runtime in RUNTIMES
    }
    return {
        "model": str(folder),
        "model_version": reference.version,
        "data": str(data),
        "n": len(texts),
        "evidence_n": len(evidence_texts),
        "threads": threads,
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "load_average_before": round(load_before, 2),
            "load_average_after": round(os.getloadavg()[0], 2),
        },
        "encoder": shape,
        "tokens_per_comment": round(tokens_per_comment, 2),
        "gflops_per_comment": round(flops / 1e9, 4),
        "gemm": gemm,
        "runs": runs,
        "ratios": ratios,
        "evidence_cost": evidence_cost,
        "quality": quality,
        "f1_loss_vs_torch": loss,
    }


def format_bench(result: dict[str, Any]) -> str:
    """The benchmark as a plain-text table, then the ceiling, ratios and quality."""
    gemm = result["gemm"]
    lines = [
        f"model {result['model']} ({result['model_version']}), {result['n']} comments of {result['data']} "
        f"({result['evidence_n']} with evidence), {result['threads']} thread(s), {result['machine']['cpus']} CPUs, "
        f"load {result['machine']['load_average_before']} → {result['machine']['load_average_after']}",
        f"{result['tokens_per_comment']} tokens and {result['gflops_per_comment']} GFLOP per comment; GEMM "
        f"ceiling: torch fp32 {gemm['torch_fp32_gflops']} GFLOP/s, ORT fp32 {gemm['ort_fp32_gflops']} GFLOP/s, "
        f"ORT int8 {gemm['ort_int8_gops']} GOP/s",
        "",
        f"{'runtime':<10} {'batch':>5} {'evidence':>8} {'comments/s':>11} {'p50 ms':>9} {'p99 ms':>9} "
        f"{'of fp32 ceiling':>15} {'of int8 ceiling':>15}",
    ]
    for row in result["runs"]:
        fraction = row["fp32_ceiling_fraction"]
        int8 = row.get("int8_ceiling_fraction")
        lines.append(
            f"{row['runtime']:<10} {row['batch']:>5} {'yes' if row['evidence'] else 'no':>8} "
            f"{row['comments_per_s']:>11.1f} {row['latency_ms_p50']:>9.1f} {row['latency_ms_p99']:>9.1f} "
            f"{'-' if fraction is None else f'{fraction:.1%}':>15} {'-' if int8 is None else f'{int8:.1%}':>15}"
        )
    lines += ["", "speed vs torch fp32: " + ", ".join(f"{k} {v:.2f}×" for k, v in result["ratios"].items())]
    lines.append("evidence costs (×time): " + ", ".join(f"{k} {v:.1f}" for k, v in result["evidence_cost"].items()))
    lines.append("macro-F1 (batch 32, all comments):")
    for runtime, row in result["quality"].items():
        loss = result["f1_loss_vs_torch"][runtime]
        lines.append(
            f"  {runtime:<10} barriers {row['barriers_macro_f1']:.4f} (loss {loss['barriers_macro_f1'] * 100:+.2f} pt)"
            f"  sentiment {row['sentiment_macro_f1']:.4f} (loss {loss['sentiment_macro_f1'] * 100:+.2f} pt)"
        )
    return "\n".join(lines)
