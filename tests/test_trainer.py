from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedbackml.artifacts import publishing
from feedbackml.config import TrainConfig
from feedbackml.modeling import load_model
from feedbackml.trainer import train
from tests.conftest import LABELLED


def _subset(tmp_path: Path, name: str, n: int) -> Path:
    lines = (LABELLED / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    path = tmp_path / f"{name}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_training_is_seeded_and_reproducible(tiny_base: Path, tmp_path: Path) -> None:
    data = {"train": [_subset(tmp_path, "train", 64)], "dev": [_subset(tmp_path, "dev", 32)]}
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


def test_failed_training_leaves_the_old_model(tiny_base: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("old", encoding="utf-8")
    bad = TrainConfig(
        base_model=str(tmp_path / "no-such-base"),
        out=out,
        data={"train": [_subset(tmp_path, "train", 8)], "dev": [_subset(tmp_path, "dev", 8)]},
    )
    with pytest.raises(ValueError, match="base model folder .* does not exist"):
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
        data={"train": [_subset(tmp_path, "train", 48)], "dev": [_subset(tmp_path, "dev", 48)]},
    )
    result = train(config, log=lambda _: None, progress=False)
    model = load_model(result.path)
    prediction = model.predict("采购部门总是推诿扯皮,流程也没写清楚", evidence=True)
    assert set(prediction.barrier_probs) == {"subjective", "objective", "role_misalignment"}
    assert json.loads((result.path / "config.json").read_text(encoding="utf-8"))["text_prefix"] == "query: "
