"""Export of an encoder model to the fast CPU runtimes: ONNX (fp32) and dynamically quantized int8, run by
ONNX Runtime through ``feedbackml.model.backends``.

``add_runtimes`` writes ``onnx/model.onnx`` and ``onnx/model.int8.onnx`` into a model folder being built,
refuses an export whose logits disagree with torch, measures dev macro-F1 and comments/s of every runtime, and
records in config.json the default: the first runtime of ``PREFERENCE`` whose dev macro-F1 (barriers and
sentiment) is at most ``MAX_F1_LOSS`` below torch's. A fixed order, not a timing, so that two exports of the same
weights record the same default. ``export_folder`` adds all this to a published folder, through
``publish_model``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from feedbackml.artifacts import ModelFolderError, verify_folder
from feedbackml.labels import label_arrays
from feedbackml.metrics import run_scores
from feedbackml.model.backends import (
    ONNX_DIR,
    ONNX_FILES,
    ONNX_INPUTS,
    ONNX_OUTPUTS,
    RUNTIMES,
    OnnxBackend,
    TorchBackend,
    make_session,
)
from feedbackml.model.encoder import EncoderClassifier
from feedbackml.model.folder import load_baseline, load_model, publish_model
from feedbackml.model.format import read_model_config, write_config

PREFERENCE = ("onnx-int8", "onnx", "torch")  # fastest first, as measured on CPU (README, issue 6)
MAX_F1_LOSS = 0.005  # 0.5 point of dev macro-F1, barriers and sentiment each
# The fp32 graph computes what torch computes, up to summation order: 1e-6 is typical, 1e-3 means a wrong graph.
FP32_TOLERANCE = 1e-3
# int8 rounding moves logits: on the trained e5-small by up to 3.5 on 64 dev comments with the settings below
# (per-channel scales: a larger worst case than per-tensor's 1.8, yet the better macro-F1), 5.2 with the
# feed-forward outputs quantized too. Only above 6 is the graph refused as broken; below, the dev macro-F1 gate
# decides whether int8 may be the default.
INT8_TOLERANCE = 6.0
# MatMuls fed by a GELU (the feed-forward output projections) stay fp32: dynamic quantization scales activations
# per tensor, and the GELU outputs' outliers cost the trained e5-small 5.5 logits (3.3 from layer 4 alone) and
# 1.9 points of dev barrier macro-F1; all other weight MatMuls and the embeddings together cost it 1.8 logits.
# Weight scales per output channel: on the default model they keep int8 within 0.5 point of torch on dev and test
# where per-tensor scales did not, at the same speed (scripts/int8_experiment.py, training/results/int8.json).
DEFAULT_QUANTIZATION: dict[str, Any] = {"per_channel": True, "op_types": ["MatMul", "Gather"], "fp32_after": ["Gelu"]}
CHECK_ROWS = 64
Log = Callable[[str], None]


class ExportError(ValueError):
    """An export that would not compute what the torch model computes."""


# --- exporting ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """torch.onnx prints progress, logs optional-package notes and warns about its own internals; none of it
    is actionable for a user, and the export is checked numerically afterwards."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    # the quantizer logs advice on the root logger at every call; nothing else logs there during an export
    advice = logging.Filter("feedbackml.export.never")
    logging.getLogger().addFilter(advice)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
        logging.getLogger().removeFilter(advice)


def _fed_by(path: Path, op_types: set[str]) -> list[str]:
    """Names of the MatMul nodes whose first input is produced by a node of one of ``op_types``."""
    import onnx

    graph = onnx.load(str(path)).graph
    producer = {output: node.op_type for node in graph.node for output in node.output}
    return [node.name for node in graph.node if node.op_type == "MatMul" and producer.get(node.input[0]) in op_types]


def max_logit_difference(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> float:
    """The largest |Δ| over every head's logits (a head without outputs, such as no cause head, counts 0)."""
    return float(max((np.abs(x - y).max() if x.size else 0.0) for x, y in zip(a, b, strict=True)))


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

    if not isinstance(model.backend, TorchBackend):
        raise ExportError("only a torch model can be exported")
    net = model.backend.net
    settings = {**DEFAULT_QUANTIZATION, **(quantization or {})}
    out = folder / ONNX_DIR
    out.mkdir(exist_ok=False)
    fp32, int8 = folder / ONNX_FILES["onnx"], folder / ONNX_FILES["onnx-int8"]
    try:
        sample = model.padded(check_texts[:2] if len(check_texts) > 1 else [*check_texts, "好"])
        dynamic = {0: torch.export.Dim.DYNAMIC, 1: torch.export.Dim.DYNAMIC}
        with _quiet_exporter():
            torch.onnx.export(
                net.eval(),
                tuple(torch.from_numpy(array) for array in sample),
                str(fp32),
                input_names=list(ONNX_INPUTS),
                output_names=list(ONNX_OUTPUTS if net.cause_head is not None else ONNX_OUTPUTS[:2]),
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
        batch = model.padded(check_texts[:CHECK_ROWS])
        reference = model.backend.forward(*batch)
        differences = {}
        for runtime, path, tolerance in (("onnx", fp32, FP32_TOLERANCE), ("onnx-int8", int8, INT8_TOLERANCE)):
            got = OnnxBackend(make_session(path), runtime).forward(*batch)
            differences[runtime] = max_logit_difference(reference, got)
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
    probs = model.probabilities(texts)
    seconds = time.perf_counter() - started
    scores = run_scores(gold_barriers, gold_sentiments, *model.calibration.decide(probs.barriers, probs.sentiment))
    return {
        "barriers_macro_f1": round(scores["barriers"]["macro_f1"], 4),
        "sentiment_macro_f1": round(scores["sentiment"]["macro_f1"], 4),
        "comments_per_s": round(len(texts) / max(seconds, 1e-9), 2),
    }


def choose_default(measured: dict[str, dict[str, float]], max_loss: float = MAX_F1_LOSS) -> str:
    """The first runtime of ``PREFERENCE`` whose barrier and sentiment macro-F1 are each at most ``max_loss``
    below torch's (torch itself always qualifies)."""
    reference = measured["torch"]
    for runtime in PREFERENCE:
        row = measured.get(runtime)
        if row is not None and all(
            reference[key] - row[key] <= max_loss + 1e-9 for key in ("barriers_macro_f1", "sentiment_macro_f1")
        ):
            return runtime
    return "torch"


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
            runner = model
            if runtime != "torch":
                session = make_session(folder / ONNX_FILES[runtime], threads)
                runner = EncoderClassifier(
                    OnnxBackend(session, runtime),
                    model.tokenizer,
                    max_length=model.max_length,
                    text_prefix=model.text_prefix,
                    pooling=model.pooling,
                    batch_size=model.batch_size,
                    calibration=model.calibration,
                    companion=model.companion,
                    companion_weight=model.companion_weight,
                )
            measured[runtime] = measure_runtime(runner, texts, gold_barriers, gold_sentiments)
    for row in measured.values():
        row["barriers_loss"] = round(measured["torch"]["barriers_macro_f1"] - row["barriers_macro_f1"], 4)
        row["sentiment_loss"] = round(measured["torch"]["sentiment_macro_f1"] - row["sentiment_macro_f1"], 4)
    default = choose_default(measured)
    record = {
        "default": default,
        "preference": list(PREFERENCE),
        "max_f1_loss": MAX_F1_LOSS,
        "threads": threads,
        "files": dict(ONNX_FILES),
        "quantization": {"weight_type": "int8", "mode": "dynamic", **DEFAULT_QUANTIZATION, **(quantization or {})},
        "check_max_abs_logit_diff": {runtime: float(f"{value:.3g}") for runtime, value in differences.items()},
        "dev_size": len(texts),
        "dev": measured,
    }
    config = read_model_config(folder)
    config["runtimes"] = record
    write_config(folder, config)
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
    """Add (or redo) the ONNX export of a published encoder folder: the torch model and its baseline are loaded
    from the verified folder and republished with ``publish_model`` (creation time, commit, data and metrics
    kept). The model version changes, since it is a hash of the file list. ``dev`` defaults to the dev files
    the model was calibrated on."""
    from feedbackml.data.records import load_labelled

    folder = Path(folder)
    manifest = verify_folder(folder)
    config = read_model_config(folder)
    if config.get("kind") != "encoder":
        raise ModelFolderError(f"{folder}: a {config.get('kind')} model has no network to export (expected encoder)")
    dev_paths = [Path(p) for p in (dev or config.get("meta", {}).get("config", {}).get("data", {}).get("dev", []))]
    if not dev_paths:
        raise ValueError(f"{folder}: config.json names no dev data (pass --dev FILE)")
    for path in dev_paths:
        if not path.is_file():
            raise ValueError(f"{path}: dev file not found (expected the labelled dev data; pass --dev FILE)")
    records = load_labelled(dev_paths)
    gold_barriers, gold_sentiments = label_arrays(records)
    model = load_model(folder, verify=False, runtime="torch")
    assert isinstance(model, EncoderClassifier)  # noqa: S101 - read_model_config said encoder
    recorded: dict[str, Any] = {}

    def runtimes(staging: Path) -> dict[str, Any]:
        recorded.update(
            add_runtimes(
                staging,
                model,
                [r.text for r in records],
                gold_barriers,
                gold_sentiments,
                threads=threads,
                quantization=quantization,
                log=log,
            )
        )
        return recorded

    publish_model(
        folder,
        model,
        metrics=manifest.get("metrics", {}),
        data=manifest.get("data", {}),
        baseline=load_baseline(folder, verify=False),
        runtimes=runtimes,
        previous=manifest,
    )
    log(f"exported to {folder / ONNX_DIR}; default runtime {recorded['default']}")
    return recorded
