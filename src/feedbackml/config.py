"""Training configuration: one YAML file plus ``key.sub=value`` overrides, validated before any work starts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    train: list[Path] = Field(default_factory=lambda: [Path("data/labelled/train.jsonl")])
    dev: list[Path] = Field(default_factory=lambda: [Path("data/labelled/dev.jsonl")])

    @field_validator("train", "dev", mode="before")
    @classmethod
    def _one_file_is_a_list(cls, value: Any) -> Any:
        """``data.train=x.jsonl`` means one file, as ``[x.jsonl]`` does."""
        return [value] if isinstance(value, str | Path) else value


class CalibrationConfig(BaseModel):
    """Post-training choices made on dev: thresholds, temperature and the abstain rule."""

    model_config = ConfigDict(extra="forbid")

    tune_thresholds: bool = True
    temperature_scaling: bool = True
    # Share of dev comments the model should answer without flagging needs_review; the flagged rest is where
    # its probabilities sit closest to a decision boundary.
    target_coverage: float = Field(0.9, gt=0, le=1)


class TrainConfig(BaseModel):
    """Everything ``train`` needs; the defaults are the shipped default model's recipe."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["encoder", "tfidf"] = "encoder"
    data: DataConfig = Field(default_factory=DataConfig)
    out: Path = Path("models/default")
    seed: int = 13
    threads: int = Field(2, ge=1, description="torch intra-op threads; use 1 per worker on shared cores")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when torch sees it, else the CPU")

    # encoder
    base_model: str = "models/base"
    pooling: Literal["mean", "cls"] = "mean"
    max_length: int = Field(128, ge=8, le=512)
    batch_size: int = Field(16, ge=1)
    eval_batch_size: int = Field(64, ge=1)
    epochs: int = Field(6, ge=1)
    learning_rate: float = Field(5e-5, gt=0)
    head_learning_rate: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    freeze_embeddings: bool = True
    freeze_layers: int = Field(
        0,
        ge=0,
        description="bottom encoder layers kept frozen; with frozen embeddings their output is computed once",
    )
    layer_lr_decay: float = Field(1.0, gt=0, le=1, description="each layer's rate is this times the rate above it")
    class_weighting: bool = True
    sentiment_loss_weight: float = Field(1.0, gt=0)
    cause_loss_weight: float = Field(1.0, ge=0, description="weight of the cause head's loss (0: no cause head)")
    patience: int = Field(2, ge=1, description="epochs without dev improvement before stopping")
    max_steps: int | None = Field(None, ge=1, description="stop after this many steps (smoke tests)")

    companion_weight: float | None = Field(
        None, ge=0, le=1, description="the TF-IDF baseline's share of the blended logits; None: the best on dev"
    )

    # publishing
    export_runtimes: bool = Field(
        True, description="export ONNX fp32/int8 beside the torch weights and record the default runtime"
    )

    # tfidf baseline
    tfidf_c: float = Field(4.0, gt=0, description="inverse regularisation of the logistic regressions")
    # MLflow tracking folder or URI: parameters, dev figures and the card are logged there (feedbackml.tracking)
    mlflow: str | None = None

    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)


# Settings only the encoder uses: set for a TF-IDF model they change nothing, which train says.
ENCODER_ONLY = frozenset(
    {
        "base_model", "pooling", "max_length", "batch_size", "eval_batch_size", "epochs", "learning_rate",
        "head_learning_rate", "weight_decay", "warmup_ratio", "dropout", "freeze_embeddings", "freeze_layers",
        "layer_lr_decay", "class_weighting", "sentiment_loss_weight", "cause_loss_weight", "patience", "max_steps",
        "companion_weight", "export_runtimes",
    }
)  # fmt: skip


def not_applicable(config: TrainConfig) -> list[str]:
    """Settings given explicitly that the chosen kind of model does not use."""
    if config.kind != "tfidf":
        return []
    return sorted(name for name in config.model_fields_set if name in ENCODER_ONLY)


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message names the key and what was expected."""


def _parse_value(raw: str) -> Any:
    """Override values are YAML scalars: ``3``, ``2e-5``, ``true``, ``[a, b]``, or plain strings."""
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Set ``a.b.c=value`` entries in a nested dict, creating levels as needed."""
    for override in overrides:
        key, separator, raw = override.partition("=")
        if not separator or not key.strip():
            raise ConfigError(f"override '{override}' is not of the form key=value (e.g. epochs=3)")
        node = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override '{key}': '{part}' is not a section")
            node = child
        node[parts[-1]] = _parse_value(raw)
    return data


def _relative_to(folder: Path, data: dict[str, Any]) -> dict[str, Any]:
    """Paths written in a config file are relative to that file, so ``train --config`` works from any folder;
    paths on the command line stay relative to where it is typed. ``base_model`` counts as a path when it starts
    with ``./`` or ``../`` (otherwise it may be a hub name)."""

    def resolve(value: Any) -> Any:
        if isinstance(value, str | Path) and not Path(value).is_absolute():
            return os.path.normpath(folder / value)
        return value

    data = dict(data)
    if "out" in data:
        data["out"] = resolve(data["out"])
    base = data.get("base_model")
    if isinstance(base, str) and base.startswith(("./", "../")):
        data["base_model"] = str(Path(resolve(base)).resolve())
    section = data.get("data")
    if isinstance(section, dict):
        data["data"] = {
            key: [resolve(item) for item in value] if isinstance(value, list) else resolve(value)
            for key, value in section.items()
        }
    return data


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config (or the defaults), apply overrides, validate."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise ConfigError(f"{path}: cannot be read ({error.strerror})") from None
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: is not valid YAML ({error})") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of settings at the top level")
        data = _relative_to(Path(path).parent, loaded or {})
    data = apply_overrides(data, overrides or [])
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or '(top)'}: {item['msg']}" for item in error.errors()
        )
        raise ConfigError(f"{path or 'config'}: {problems}") from None
