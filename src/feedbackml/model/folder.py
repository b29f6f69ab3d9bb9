"""Model folders: ``load_model`` for every kind and runtime, and ``publish_model``, the one way a folder is
written (by training and by export alike): files, model card and manifest, published atomically."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from feedbackml.artifacts import ModelFolderError, model_version, publishing, verify_folder, write_manifest
from feedbackml.model.backends import AUTO_RUNTIME, RUNTIMES
from feedbackml.model.card import render_model_card
from feedbackml.model.classifier import Classifier
from feedbackml.model.devices import resolve_device, resolve_precision
from feedbackml.model.encoder import EncoderClassifier
from feedbackml.model.format import BASELINE_FOLDER, MODEL_CONFIG, read_model_config
from feedbackml.model.tfidf import TfidfClassifier

MODEL_CARD = "README.md"
MANIFEST_METADATA = ("created", "git_commit", "metrics", "data")


def load_model(
    folder: str | Path,
    *,
    verify: bool = True,
    runtime: str | None = None,
    threads: int | None = None,
    device: str = "auto",
    precision: str | None = None,
) -> Classifier:
    """Load any model folder written by ``feedbackml train``, refusing it if the manifest does not match.

    ``runtime`` picks what runs an encoder: ``torch``, ``onnx``, ``onnx-int8``, or None/``auto`` for the default
    recorded in the folder's config.json when it was exported (torch when never exported). ``threads`` sets the
    ONNX Runtime session's intra-op threads (default 1: one per worker on shared cores); torch's threads are
    process-wide and set where a worker starts. ``device`` (``auto``, ``cpu``, ``cuda``; see ``devices``): on CUDA
    an encoder runs in torch, fp16 unless ``precision`` is ``fp32``."""
    folder = Path(folder)
    if runtime not in (None, AUTO_RUNTIME, *RUNTIMES):
        raise ValueError(f"unknown runtime {runtime!r} (expected one of {AUTO_RUNTIME}, {', '.join(RUNTIMES)})")
    if runtime == AUTO_RUNTIME:
        runtime = None
    # an ONNX runtime asked for by name runs on the CPU: ``auto`` means the CPU for it, only ``cuda`` is refused
    where = "cpu" if device == "auto" and runtime not in (None, "torch") else resolve_device(device)
    chosen_precision = resolve_precision(where, precision)
    manifest = verify_folder(folder) if verify else {}
    if runtime is None and (where, chosen_precision) != ("cpu", "fp32"):
        runtime = "torch"  # the folder's default runtime is chosen for the CPU
    model = _load_verified(folder, runtime=runtime, threads=threads or 1, device=where, precision=chosen_precision)
    model.version = model_version(manifest) if manifest else "unverified"
    model.manifest = {key: manifest.get(key) for key in MANIFEST_METADATA}
    return model


def load_baseline(folder: str | Path, *, verify: bool = True) -> Classifier | None:
    """The TF-IDF baseline stored beside an encoder model (trained on the same data), if there is one.
    ``verify=False`` when ``load_model`` has just checked the same folder: its manifest covers the baseline."""
    folder = Path(folder)
    if not (folder / BASELINE_FOLDER / MODEL_CONFIG).is_file():
        return None
    if verify:
        verify_folder(folder)
    model = _load_verified(folder / BASELINE_FOLDER, runtime=None, threads=1)
    model.version = "baseline"
    return model


def default_runtime(folder: str | Path) -> str:
    """The CPU runtime an encoder folder's export recorded as its default (torch when never exported)."""
    return _recorded_runtime(read_model_config(Path(folder)))


def _recorded_runtime(config: dict[str, Any]) -> str:
    return str(config.get("runtimes", {}).get("default", "torch"))


def _load_verified(
    folder: Path, *, runtime: str | None, threads: int, device: str = "cpu", precision: str = "fp32"
) -> Classifier:
    config = read_model_config(folder)

    if config["kind"] == "tfidf":
        if runtime not in (None, "torch"):
            raise ModelFolderError(f"{folder}: a tfidf model has no {runtime} runtime (expected auto or torch)")
        return TfidfClassifier.load(folder, config)
    chosen = runtime or _recorded_runtime(config)
    return EncoderClassifier.load(folder, config, runtime=chosen, threads=threads, device=device, precision=precision)


def publish_model(
    destination: str | Path,
    model: Classifier,
    *,
    metrics: dict[str, Any],
    data: dict[str, str],
    baseline: Classifier | None = None,
    runtimes: Callable[[Path], dict[str, Any]] | None = None,
    previous: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (and its TF-IDF ``baseline``) into a staging folder, let ``runtimes`` add the exported
    runtimes there (it returns what it recorded), render the model card from ``metrics`` (``dev`` and
    optionally ``baseline_dev``), list every file in the manifest and replace ``destination`` in one rename.
    ``previous``: the manifest of the folder this one updates, whose creation time and commit are kept."""
    destination = Path(destination)
    with publishing(destination) as staging:
        model.save(staging)
        if baseline is not None:
            (staging / BASELINE_FOLDER).mkdir()
            baseline.save(staging / BASELINE_FOLDER)
        record = runtimes(staging) if runtimes is not None else None
        if "dev" in metrics:  # a folder published without dev figures has no card to render
            card = render_model_card(model.meta, metrics["dev"], metrics.get("baseline_dev"), record)
            (staging / MODEL_CARD).write_text(card, encoding="utf-8")
        write_manifest(staging, data=data, metrics=metrics, previous=previous)
    return destination
