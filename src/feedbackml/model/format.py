"""The model folder's ``config.json``: what kind of model it is, its labels, normalisation and calibration.

Every model kind writes it through ``write_model_config`` and every loader reads it through ``read_model_config``,
which refuses a folder made for other labels or another text normalisation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from feedbackml.artifacts import ModelFolderError, read_json
from feedbackml.labels import BARRIERS, SENTIMENTS
from feedbackml.model.types import Calibration
from feedbackml.text import NORMALIZATION_VERSION

MODEL_CONFIG = "config.json"
BASELINE_FOLDER = "baseline"  # the TF-IDF model trained beside an encoder on the same data
KINDS = ("encoder", "tfidf")


def write_model_config(
    folder: Path, *, kind: str, calibration: Calibration, meta: dict[str, Any], extra: dict[str, Any]
) -> None:
    config = {
        "kind": kind,
        "labels": {"barriers": list(BARRIERS), "sentiments": list(SENTIMENTS)},
        "normalization_version": NORMALIZATION_VERSION,
        "calibration": calibration.to_json(),
        "meta": meta,
        **extra,
    }
    write_config(folder, config)


def write_config(folder: Path, config: dict[str, Any]) -> None:
    (folder / MODEL_CONFIG).write_text(json.dumps(config, ensure_ascii=False, indent=1), encoding="utf-8")


def read_model_config(folder: Path) -> dict[str, Any]:
    config = read_json(folder / MODEL_CONFIG)
    labels = config.get("labels", {})
    if labels.get("barriers") != list(BARRIERS) or labels.get("sentiments") != list(SENTIMENTS):
        raise ModelFolderError(f"{folder}: labels {labels} differ from this feedbackml's {BARRIERS}/{SENTIMENTS}")
    if config.get("normalization_version") != NORMALIZATION_VERSION:
        raise ModelFolderError(
            f"{folder}: trained with text normalisation v{config.get('normalization_version')}, this feedbackml "
            f"uses v{NORMALIZATION_VERSION}; retrain the model"
        )
    if config.get("kind") not in KINDS:
        raise ModelFolderError(f"{folder}: unknown model kind {config.get('kind')!r} (expected encoder or tfidf)")
    return config
