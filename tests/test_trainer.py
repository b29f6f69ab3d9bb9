from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedbackml.artifacts import publishing
from feedbackml.config import TrainConfig
from feedbackml.modeling import load_model
from feedbackml.trainer import train
from tests.conftest import corpus_subset


def test_training_is_seeded_and_reproducible(tiny_base: Path, tmp_path: Path) -> None:
    data = {"train": [corpus_subset(tmp_path, "train", 64)], "dev": [corpus_subset(tmp_path, "dev", 32)]}
    common = {
        "base_model": str(tiny_base),
        "epochs": 1,
        "max_steps": 4,
        "batch_size": 8,
        "max_length": 48,
        "threads": 1,
        "data": data,
    }
    first = train(TrainConfig(out=tmp_path / "a", **common), log=lambda _: None, progress=False)
    second = train(TrainConfig(out=tmp_path / "b", **common), log=lambda _: None, progress=False)
    a, b = load_model(first.path), load_model(second.path)
    assert a.predict("流程太慢").barrier_probs == b.predict("流程太慢").barrier_probs
    manifest = json.loads((first.path / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["data"]) == {str(p) for p in data["train"] + data["dev"]}
    assert {"torch", "transformers", "python"} <= set(manifest["versions"])
    assert (first.path / "README.md").read_text(encoding="utf-8").startswith("# feedbackml model card")
    assert "baseline_dev" in manifest["metrics"] and "baseline/weights.safetensors" in manifest["files"]


def test_failed_training_leaves_the_old_model(tiny_base: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("old", encoding="utf-8")
    bad = TrainConfig(
        base_model=str(tmp_path / "no-such-base"),
        out=out,
        data={"train": [corpus_subset(tmp_path, "train", 64)], "dev": [corpus_subset(tmp_path, "dev", 32)]},
    )
    with pytest.raises(ValueError, match=r"base model folder .* does not exist"):
        train(bad, log=lambda _: None, progress=False)
    assert (out / "keep.txt").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev.jsonl", "model", "train.jsonl"]


def test_publishing_is_atomic(tmp_path: Path) -> None:
    destination = tmp_path / "m"
    with publishing(destination) as staging:
        (staging / "a.txt").write_text("1", encoding="utf-8")
    with pytest.raises(RuntimeError), publishing(destination) as staging:
        (staging / "a.txt").write_text("2", encoding="utf-8")
        raise RuntimeError("crash")
    assert (destination / "a.txt").read_text(encoding="utf-8") == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


@pytest.mark.slow
def test_real_encoder_builds_and_trains_a_few_steps(tmp_path: Path) -> None:
    """Guards the main path in CI: the offline base build, fine-tuning steps, calibration and reload."""
    from feedbackml.encoder import build_base

    base = build_base(tmp_path / "base")
    config = TrainConfig(
        base_model=str(base),
        out=tmp_path / "model",
        epochs=1,
        max_steps=3,
        batch_size=8,
        max_length=64,
        data={"train": [corpus_subset(tmp_path, "train", 48)], "dev": [corpus_subset(tmp_path, "dev", 48)]},
    )
    result = train(config, log=lambda _: None, progress=False)
    model = load_model(result.path)
    prediction = model.predict("采购部门总是推诿扯皮,流程也没写清楚", evidence=True)
    assert set(prediction.barrier_probs) == {"subjective", "objective", "role_misalignment"}
    assert json.loads((result.path / "config.json").read_text(encoding="utf-8"))["text_prefix"] == "query: "


def test_frozen_layers_do_not_change(tiny_base: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    config = TrainConfig(
        base_model=str(tiny_base),
        out=tmp_path / "m",
        epochs=1,
        max_steps=3,
        batch_size=8,
        max_length=48,
        threads=1,
        freeze_layers=1,
        learning_rate=1e-2,
        data={"train": [corpus_subset(tmp_path, "train", 32)], "dev": [corpus_subset(tmp_path, "dev", 16)]},
    )
    result = train(config, log=lambda _: None, progress=False)
    before = load_file(str(tiny_base / "model.safetensors"))
    after = load_file(str(result.path / "encoder" / "model.safetensors"))

    def weight(state: dict, layer: int):  # type: ignore[no-untyped-def,type-arg]
        return next(v for k, v in state.items() if k.endswith(f"layer.{layer}.attention.self.query.weight"))

    assert (weight(before, 0) == weight(after, 0)).all()
    assert not (weight(before, 1) == weight(after, 1)).all()
    with pytest.raises(ValueError, match="no such stack of layers"):
        train(config.model_copy(update={"freeze_layers": 5}), log=lambda _: None, progress=False)
