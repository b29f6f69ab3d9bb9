"""The fast CPU runtimes: an encoder model exported to ONNX (fp32) and dynamically quantized to int8, run by
ONNX Runtime with the same tokenization, splitting, calibration and evidence as the torch model.

``add_runtimes`` writes ``onnx/model.onnx`` and ``onnx/model.int8.onnx`` into a model folder being built,
refuses an export whose logits disagree with torch, measures dev macro-F1 and comments/s of every runtime, and
records in config.json the default: the fastest runtime whose dev macro-F1 (barriers and sentiment) is at most
``MAX_F1_LOSS`` below torch's. ``export_folder`` adds all this to a published folder atomically.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from feedbackml.artifacts import ModelFolderError, publishing, read_json, verify_folder, write_manifest
from feedbackml.labels import BARRIERS
from feedbackml.metrics import barrier_scores, sentiment_scores
from feedbackml.modeling import MODEL_CONFIG, RUNTIMES, Calibration, EncoderClassifier

ONNX_DIR = "onnx"
ONNX_FILES = {"onnx": f"{ONNX_DIR}/model.onnx", "onnx-int8": f"{ONNX_DIR}/model.int8.onnx"}
INPUTS = ("input_ids", "attention_mask")
OUTPUTS = ("barrier_logits", "sentiment_logits")
MAX_F1_LOSS = 0.005  # 0.5 point of dev macro-F1, barriers and sentiment each
# The fp32 graph computes what torch computes, up to summation order: 1e-6 is typical, 1e-3 means a wrong graph.
FP32_TOLERANCE = 1e-3
# int8 rounding moves logits: on the trained e5-small at most 1.8 on 64 dev comments with the settings below
# (dev macro-F1 within 0.4 point), 5.2 with the feed-forward outputs quantized too (-1.9 points). Above 3 the
# graph is refused as broken; below, the dev macro-F1 gate decides whether int8 may be the default.
INT8_TOLERANCE = 3.0
# MatMuls fed by a GELU (the feed-forward output projections) stay fp32: dynamic quantization scales activations
# per tensor, and the GELU outputs' outliers cost the trained e5-small 5.5 logits (3.3 from layer 4 alone) and
# 1.9 points of dev barrier macro-F1; all other weight MatMuls and the embeddings together cost it 1.8 logits.
DEFAULT_QUANTIZATION: dict[str, Any] = {"per_channel": False, "op_types": ["MatMul", "Gather"], "fp32_after": ["Gelu"]}
CHECK_ROWS = 64
Log = Callable[[str], None]


class ExportError(ValueError):
    """An export that would not compute what the torch model computes."""


# --- running ------------------------------------------------------------------------------------------------


def make_session(model: Path | bytes, threads: int = 1) -> Any:
    """One ONNX Runtime session for a model file (or serialized model): sequential execution, ``threads``
    intra-op threads, all graph optimizations."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only; ORT's optimizer notes are not the user's business
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


class OnnxEncoderClassifier(EncoderClassifier):
    """The encoder model run by ONNX Runtime: only ``forward`` differs from ``EncoderClassifier``."""

    def __init__(self, session: Any, tokenizer: Any, *, runtime: str, **kwargs: Any) -> None:
        super().__init__(None, tokenizer, **kwargs)
        self.session = session
        self.runtime = runtime

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        barrier_logits, sentiment_logits = self.session.run(
            list(OUTPUTS), {"input_ids": input_ids, "attention_mask": attention_mask}
        )
        return barrier_logits, sentiment_logits

    def save(self, folder: Path) -> None:
        raise TypeError("an ONNX runtime is part of a torch model's folder: save the torch model, then export it")

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any], *, runtime: str, threads: int = 1) -> OnnxEncoderClassifier:
        from transformers import AutoTokenizer

        if runtime not in ONNX_FILES:
            raise ValueError(f"unknown ONNX runtime {runtime!r} (expected one of {', '.join(ONNX_FILES)})")
        path = folder / ONNX_FILES[runtime]
        if not path.is_file():
            raise ModelFolderError(
                f"{folder}: no {ONNX_FILES[runtime]} (run 'feedbackml export --model {folder}', or use runtime torch)"
            )
        tokenizer = AutoTokenizer.from_pretrained(folder / "tokenizer", local_files_only=True, trust_remote_code=False)
        return cls(
            make_session(path, threads),
            tokenizer,
            runtime=runtime,
            max_length=int(config["max_length"]),
            text_prefix=str(config.get("text_prefix", "")),
            calibration=Calibration.from_json(config["calibration"]),
            meta=config.get("meta", {}),
        )


# --- exporting ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """torch.onnx prints progress, logs optional-package notes and warns about its own internals; none of it
    is actionable for a user, and the export is checked numerically afterwards."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    # the quantizer logs advice on the root logger at every call; nothing else logs there during an export
    advice = logging.Filter("feedbackml.runtime.never")
    logging.getLogger().addFilter(advice)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
        logging.getLogger().removeFilter(advice)


def _padded(model: EncoderClassifier, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    ids = [seq[: model.max_length] for seq in model.encode(texts)]
    width = max(len(seq) for seq in ids)
    input_ids = np.full((len(ids), width), model.pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for row, seq in enumerate(ids):
        input_ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return input_ids, mask


def _fed_by(path: Path, op_types: set[str]) -> list[str]:
    """Names of the MatMul nodes whose first input is produced by a node of one of ``op_types``."""
    import onnx

    graph = onnx.load(str(path)).graph
    producer = {output: node.op_type for node in graph.node for output in node.output}
    return [node.name for node in graph.node if node.op_type == "MatMul" and producer.get(node.input[0]) in op_types]


def max_logit_difference(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    return float(max(np.abs(a[0] - b[0]).max(), np.abs(a[1] - b[1]).max()))


def export_onnx(
    model: EncoderClassifier,
    folder: Path,
    check_texts: list[str],
    *,
    quantization: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Write ``onnx/model.onnx`` and ``onnx/model.int8.onnx`` of ``model``'s network into ``folder`` (inputs
    input_ids/attention_mask with dynamic batch and sequence axes, outputs barrier and sentiment logits).
    Both are run on ``check_texts`` (padded, one batch) and compared with torch; returns max |Δ logit| per
    runtime, or raises ExportError (and leaves no ONNX file) when one disagrees beyond its tolerance."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if model.net is None:
        raise ExportError("only a torch model can be exported")
    settings = {**DEFAULT_QUANTIZATION, **(quantization or {})}
    out = folder / ONNX_DIR
    out.mkdir(exist_ok=False)
    fp32, int8 = folder / ONNX_FILES["onnx"], folder / ONNX_FILES["onnx-int8"]
    try:
        sample = _padded(model, check_texts[:2] if len(check_texts) > 1 else [*check_texts, "好"])
        dynamic = {0: torch.export.Dim.DYNAMIC, 1: torch.export.Dim.DYNAMIC}
        with _quiet_exporter():
            torch.onnx.export(
                model.net.eval(),
                tuple(torch.from_numpy(array) for array in sample),
                str(fp32),
                input_names=list(INPUTS),
                output_names=list(OUTPUTS),
                dynamic_shapes=(dynamic, dynamic),
                dynamo=True,
                external_data=False,
                verbose=False,
            )
            quantize_dynamic(
                fp32,
                int8,
                weight_type=QuantType.QInt8,
                per_channel=bool(settings["per_channel"]),
                op_types_to_quantize=list(settings["op_types"]),
                nodes_to_exclude=_fed_by(fp32, set(settings["fp32_after"])),
            )
        batch = _padded(model, check_texts[:CHECK_ROWS])
        reference = model.forward(*batch)
        differences = {}
        for runtime, path, tolerance in (("onnx", fp32, FP32_TOLERANCE), ("onnx-int8", int8, INT8_TOLERANCE)):
            session = make_session(path)
            got = session.run(list(OUTPUTS), dict(zip(INPUTS, batch, strict=True)))
            differences[runtime] = max_logit_difference(reference, (got[0], got[1]))
            if not differences[runtime] <= tolerance:
                raise ExportError(
                    f"{ONNX_FILES[runtime]} disagrees with the torch model: max |Δ logit| "
                    f"{differences[runtime]:.4g} on {len(batch[0])} comments (expected at most {tolerance}); "
                    "nothing was written"
                )
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return differences


# --- measuring and choosing ---------------------------------------------------------------------------------


def _torch_threads(threads: int) -> contextlib.AbstractContextManager[None]:
    @contextlib.contextmanager
    def scope() -> Iterator[None]:
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    return scope()


def measure_runtime(
    model: EncoderClassifier, texts: list[str], gold_barriers: np.ndarray, gold_sentiments: np.ndarray
) -> dict[str, float]:
    """Macro-F1 (barriers, sentiment) of ``model`` on labelled texts and its comments/s scoring them."""
    model.probabilities(texts[:2])  # first call allocates; not part of the rate
    started = time.perf_counter()
    barrier_probs, sentiment_probs, _ = model.probabilities(texts)
    seconds = time.perf_counter() - started
    thresholds = np.array([model.calibration.thresholds[label] for label in BARRIERS])
    return {
        "barriers_macro_f1": round(barrier_scores(gold_barriers, barrier_probs >= thresholds)["macro_f1"], 4),
        "sentiment_macro_f1": round(sentiment_scores(gold_sentiments, sentiment_probs.argmax(axis=1))["macro_f1"], 4),
        "comments_per_s": round(len(texts) / max(seconds, 1e-9), 2),
    }


def choose_default(measured: dict[str, dict[str, float]], max_loss: float = MAX_F1_LOSS) -> str:
    """The fastest runtime whose barrier and sentiment macro-F1 are each at most ``max_loss`` below torch's."""
    reference = measured["torch"]
    eligible = [
        runtime
        for runtime, row in measured.items()
        if all(reference[key] - row[key] <= max_loss + 1e-9 for key in ("barriers_macro_f1", "sentiment_macro_f1"))
    ]
    return max(eligible, key=lambda runtime: measured[runtime]["comments_per_s"])


def add_runtimes(
    folder: Path,
    model: EncoderClassifier,
    texts: list[str],
    gold_barriers: np.ndarray,
    gold_sentiments: np.ndarray,
    *,
    threads: int = 1,
    quantization: dict[str, Any] | None = None,
    log: Log = print,
) -> dict[str, Any]:
    """Export ``model`` into ``folder`` (a model folder being built, config.json already written), measure
    every runtime on the labelled dev texts with ``threads`` threads, and record the results and the default
    runtime in config.json. Returns what was recorded."""
    differences = export_onnx(model, folder, texts, quantization=quantization)
    measured: dict[str, dict[str, float]] = {}
    with _torch_threads(threads):
        for runtime in RUNTIMES:
            runner = (
                model
                if runtime == "torch"
                else OnnxEncoderClassifier.load(
                    folder, read_json(folder / MODEL_CONFIG), runtime=runtime, threads=threads
                )
            )
            runner.calibration = model.calibration
            measured[runtime] = measure_runtime(runner, texts, gold_barriers, gold_sentiments)
    for row in measured.values():
        row["barriers_loss"] = round(measured["torch"]["barriers_macro_f1"] - row["barriers_macro_f1"], 4)
        row["sentiment_loss"] = round(measured["torch"]["sentiment_macro_f1"] - row["sentiment_macro_f1"], 4)
    default = choose_default(measured)
    record = {
        "default": default,
        "max_f1_loss": MAX_F1_LOSS,
        "threads": threads,
        "files": dict(ONNX_FILES),
        "quantization": {"weight_type": "int8", "mode": "dynamic", **DEFAULT_QUANTIZATION, **(quantization or {})},
        "check_max_abs_logit_diff": {runtime: float(f"{value:.3g}") for runtime, value in differences.items()},
        "dev_size": len(texts),
        "dev": measured,
    }
    config = read_json(folder / MODEL_CONFIG)
    config["runtimes"] = record
    (folder / MODEL_CONFIG).write_text(json.dumps(config, ensure_ascii=False, indent=1), encoding="utf-8")
    log(
        "runtimes on dev: "
        + "; ".join(
            f"{runtime} {row['comments_per_s']:.0f}/s, macro-F1 {row['barriers_macro_f1']:.3f}/"
            f"{row['sentiment_macro_f1']:.3f}"
            for runtime, row in measured.items()
        )
        + f" → default {default}"
    )
    return record


def export_folder(
    folder: str | Path,
    *,
    dev: list[str | Path] | None = None,
    threads: int = 1,
    quantization: dict[str, Any] | None = None,
    log: Log = print,
) -> dict[str, Any]:
    """Add (or redo) the ONNX export of a published encoder folder, atomically: the verified files are copied
    to a staging folder, exported and measured there, config.json, the model card and the manifest are
    rewritten (creation time, data and metrics kept), and the staging folder replaces ``folder`` in one
    rename. The model version changes, since it is a hash of the file list. ``dev`` defaults to the dev
    files the model was calibrated on."""
    from feedbackml.data.records import load_labelled
    from feedbackml.model_card import render_model_card
    from feedbackml.modeling import load_model
    from feedbackml.trainer import gold_arrays

    folder = Path(folder)
    manifest = verify_folder(folder)
    config = read_json(folder / MODEL_CONFIG)
    if config.get("kind") != "encoder":
        raise ModelFolderError(f"{folder}: a {config.get('kind')} model has no network to export (expected encoder)")
    dev_paths = [Path(p) for p in (dev or config.get("meta", {}).get("config", {}).get("data", {}).get("dev", []))]
    if not dev_paths:
        raise ValueError(f"{folder}: config.json names no dev data (pass --dev FILE)")
    for path in dev_paths:
        if not path.is_file():
            raise ValueError(f"{path}: dev file not found (expected the labelled dev data; pass --dev FILE)")
    records = load_labelled(dev_paths)
    gold_barriers, gold_sentiments = gold_arrays(records)
    model = load_model(folder, verify=False, runtime="torch")
    if not isinstance(model, EncoderClassifier):
        raise ModelFolderError(f"{folder}: expected an encoder model")
    metrics = manifest.get("metrics", {})
    with publishing(folder) as staging:
        for name in manifest["files"]:
            if name.startswith(f"{ONNX_DIR}/"):
                continue
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / name, staging / name)
        record = add_runtimes(
            staging,
            model,
            [r.text for r in records],
            gold_barriers,
            gold_sentiments,
            threads=threads,
            quantization=quantization,
            log=log,
        )
        if "dev" in metrics:
            card = render_model_card(config.get("meta", {}), metrics["dev"], metrics.get("baseline_dev"), record)
            (staging / "README.md").write_text(card, encoding="utf-8")
        write_manifest(staging, data=manifest.get("data", {}), metrics=metrics, previous=manifest)
    log(f"exported to {folder / ONNX_DIR}; default runtime {record['default']}")
    return record
