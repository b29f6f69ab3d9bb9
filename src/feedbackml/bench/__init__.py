"""``run_bench``: how fast each runtime scores the same comments on this machine, against its own compute ceiling.

In one run, on the same comments: comments/s and latency for torch fp32, ONNX fp32 and ONNX int8, one comment
per call and 32 per call, with and without evidence, and for the plain-``transformers`` peer (``peer.py``) at 32
per call; the machine's own GEMM rate (fp32 and int8, encoder-like shapes, the same threads); FLOPs per comment
from the encoder's shape and the real token counts; the macro-F1 of each runtime on the labelled comments; and
the folder's default runtime on 1, 2, … worker processes (``workers.py``). The runtimes take turns on every chunk,
so a neighbour's load on shared cores hits all of them alike: the ratios are the claim, not the absolute rates.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from feedbackml.bench.ceiling import encoder_flops, encoder_shape, gemm_rates
from feedbackml.bench.peer import PlainTransformersPeer
from feedbackml.bench.workers import default_worker_counts, worker_scaling
from feedbackml.data.records import load_labelled
from feedbackml.labels import label_arrays
from feedbackml.metrics import run_scores
from feedbackml.model import RUNTIMES, Classifier, EncoderClassifier, Prediction, load_model
from feedbackml.model.devices import PRECISIONS, device_report
from feedbackml.model.folder import default_runtime as recorded_default
from feedbackml.text import normalize

BATCH_SIZES = (1, 32)
QUICK_ROWS, QUICK_EVIDENCE_ROWS = 16, 2
EVIDENCE_ROWS = 48
QUICK_WORKERS = [1, 2]
PEER = PlainTransformersPeer.name
Log = Callable[[str], None]
Runner = Callable[[list[str]], list[Any]]

__all__ = ["encoder_flops", "format_bench", "run_bench"]


# --- throughput -----------------------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else 0.0


def _predicting(model: Classifier, evidence: bool) -> Runner:
    return lambda chunk: model.predict(chunk, evidence=evidence)


def _timed(
    runners: dict[str, Runner], texts: list[str], batch: int
) -> tuple[dict[str, list[float]], dict[str, list[Any]]]:
    """Every runner scores every chunk of ``batch`` comments, taking turns in a rotating order."""
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    outputs: dict[str, list[Any]] = {name: [] for name in runners}
    names = list(runners)
    for number, start in enumerate(range(0, len(texts), batch)):
        chunk = texts[start : start + batch]
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            began = time.perf_counter()
            predictions = runners[name](chunk)
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
    workers: list[int] | None = None,
    log: Log = print,
) -> dict[str, Any]:
    """Benchmark the three runtimes of an exported encoder folder on labelled comments (see the module doc).
    ``quick``: 16 comments, 2 with evidence, a short GEMM timing and 1 and 2 workers (for tests). ``workers``: the
    worker counts to time (default 1, 2, 4, … up to the number of cores)."""
    import torch

    folder = Path(folder)
    records = load_labelled([data])
    records = records[: rows or (QUICK_ROWS if quick else len(records))]
    texts = [r.text for r in records]
    evidence_texts = texts[: evidence_rows or (QUICK_EVIDENCE_ROWS if quick else EVIDENCE_ROWS)]
    gold_barriers, gold_sentiments = label_arrays(records)
    load_before = os.getloadavg()[0]

    torch.set_num_threads(threads)
    models: dict[str, Classifier] = {"torch": load_model(folder, runtime="torch", device="cpu")}  # verifies once
    for runtime in RUNTIMES[1:]:
        models[runtime] = load_model(folder, verify=False, runtime=runtime, threads=threads, device="cpu")
    accelerator = device_report()
    if accelerator["cuda"]:  # the encoder in torch on the GPU, fp32 and fp16: what fp16 costs in macro-F1 too
        for precision in PRECISIONS[::-1]:
            model = load_model(folder, verify=False, device="cuda", precision=precision)
            models[model.runtime] = model
    reference = models["torch"]
    if not isinstance(reference, EncoderClassifier):
        raise ValueError(f"{folder}: bench needs an encoder model (expected kind encoder)")
    peer = PlainTransformersPeer(folder)
    for model in models.values():
        model.predict(texts[:2], evidence=True)  # lazy initialisation is not part of any figure
    peer(texts[:2])

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
            runners = {name: _predicting(model, evidence) for name, model in models.items()}
            if batch == max(BATCH_SIZES) and not evidence:
                runners[PEER] = peer
            seconds, outputs = _timed(runners, subset, batch)
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
                    "fp32_ceiling_fraction": None
                    if evidence or "cuda" in runtime
                    else round(rate * flops / ceiling, 4),
                }
                if runtime == "onnx-int8" and not evidence:
                    row["int8_ceiling_fraction"] = round(rate * flops / (gemm["ort_int8_gops"] * 1e9), 4)
                runs.append(row)
                if batch == max(BATCH_SIZES) and not evidence and runtime in models:
                    quality[runtime] = _quality(outputs[runtime], gold_barriers, gold_sentiments)

    def rate_of(runtime: str, batch: int, evidence: bool) -> float:
        return next(
            r["comments_per_s"] for r in runs if (r["runtime"], r["batch"], r["evidence"]) == (runtime, batch, evidence)
        )

    ratios = {
        f"{runtime}_vs_torch_batch{batch}{'_evidence' if evidence else ''}": round(
            rate_of(runtime, batch, evidence) / rate_of("torch", batch, evidence), 3
        )
        for runtime in list(models)[1:]
        for batch in BATCH_SIZES
        for evidence in (False, True)
    }
    batch = max(BATCH_SIZES)
    ratios |= {
        f"{runtime}_vs_{PEER}_batch{batch}": round(rate_of(runtime, batch, False) / rate_of(PEER, batch, False), 3)
        for runtime in models
    }
    # what evidence multiplies the time by, on the very comments timed with evidence
    plain_runners = {name: _predicting(model, False) for name, model in models.items()}
    plain = {batch: _timed(plain_runners, evidence_texts, batch)[0] for batch in BATCH_SIZES}
    evidence_cost = {
        f"{runtime}_batch{batch}": round(
            len(evidence_texts) / rate_of(runtime, batch, True) / sum(plain[batch][runtime]), 2
        )
        for runtime in models
        for batch in BATCH_SIZES
    }
    counts = workers or (QUICK_WORKERS if quick else default_worker_counts())
    default_runtime = recorded_default(folder)
    log(f"timing {default_runtime} on {', '.join(map(str, counts))} worker process(es)")
    scaling = worker_scaling(folder, texts, counts, runtime=default_runtime, batch=max(BATCH_SIZES))
    loss = {
        runtime: {
            key: round(quality["torch"][key] - quality[runtime][key], 4)
            for key in ("barriers_macro_f1", "sentiment_macro_f1")
        }
        for runtime in models
    }
    return {
        "model": str(folder),
        "model_version": reference.version,
        "data": str(data),
        "n": len(texts),
        "evidence_n": len(evidence_texts),
        "threads": threads,
        "accelerator": accelerator,
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
        "workers": {"runtime": default_runtime, "threads_each": 1, "batch": max(BATCH_SIZES), "runs": scaling},
    }


def format_bench(result: dict[str, Any]) -> str:
    """The benchmark as a plain-text table, then the ceiling, ratios and quality."""
    gemm = result["gemm"]
    lines = [
        f"model {result['model']} ({result['model_version']}), {result['n']} comments of {result['data']} "
        f"({result['evidence_n']} with evidence), {result['threads']} thread(s), {result['machine']['cpus']} CPUs, "
        f"load {result['machine']['load_average_before']} → {result['machine']['load_average_after']}; "
        + (
            f"GPU {result['accelerator']['name']}"
            if result["accelerator"]["cuda"]
            else "no GPU (torch sees no CUDA device)"
        ),
        f"{result['tokens_per_comment']} tokens and {result['gflops_per_comment']} GFLOP per comment; GEMM "
        f"ceiling: torch fp32 {gemm['torch_fp32_gflops']} GFLOP/s, ORT fp32 {gemm['ort_fp32_gflops']} GFLOP/s, "
        f"ORT int8 {gemm['ort_int8_gops']} GOP/s",
        "",
        f"{'runtime':<12} {'batch':>5} {'evidence':>8} {'comments/s':>11} {'p50 ms':>9} {'p99 ms':>9} "
        f"{'of fp32 ceiling':>15} {'of int8 ceiling':>15}",
    ]
    for row in result["runs"]:
        fraction = row["fp32_ceiling_fraction"]
        int8 = row.get("int8_ceiling_fraction")
        lines.append(
            f"{row['runtime']:<12} {row['batch']:>5} {'yes' if row['evidence'] else 'no':>8} "
            f"{row['comments_per_s']:>11.1f} {row['latency_ms_p50']:>9.1f} {row['latency_ms_p99']:>9.1f} "
            f"{'-' if fraction is None else f'{fraction:.1%}':>15} {'-' if int8 is None else f'{int8:.1%}':>15}"
        )
    lines += ["", "speed vs torch fp32: " + ", ".join(f"{k} {v:.2f}×" for k, v in result["ratios"].items())]
    scaling = result["workers"]
    lines.append(f"{scaling['runtime']} on worker processes (1 thread each, batches of {scaling['batch']}):")
    for row in scaling["runs"]:
        lines.append(
            f"  {row['workers']:>3} worker(s) {row['comments_per_s']:>9.1f} comments/s  ×{row['vs_first']:.2f}"
        )
    lines.append("evidence costs (×time): " + ", ".join(f"{k} {v:.1f}" for k, v in result["evidence_cost"].items()))
    lines.append("macro-F1 (batch 32, all comments):")
    for runtime, row in result["quality"].items():
        loss = result["f1_loss_vs_torch"][runtime]
        lines.append(
            f"  {runtime:<10} barriers {row['barriers_macro_f1']:.4f} (loss {loss['barriers_macro_f1'] * 100:+.2f} pt)"
            f"  sentiment {row['sentiment_macro_f1']:.4f} (loss {loss['sentiment_macro_f1'] * 100:+.2f} pt)"
        )
    return "\n".join(lines)
