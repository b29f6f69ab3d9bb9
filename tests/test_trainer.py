from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedbackml.artifacts import publishing
from feedbackml.modeling import load_model
from tests.conftest import quiet_train, tiny_config


def test_training_is_seeded_and_reproducible(tiny_base: Path, tmp_path: Path) -> None:
    config = tiny_config(tiny_base, tmp_path)
    first = quiet_train(config.model_copy(update={"out": tmp_path / "a"}))
    second = quiet_train(config.model_copy(update={"out": tmp_path / "b"}))
    # torch explicitly: the default runtime is chosen by a timing measured at export, which need not repeat
    a, b = load_model(first, runtime="torch"), load_model(second, runtime="torch")
    assert a.predict("流程太慢").barrier_probs == b.predict("流程太慢").barrier_probs
    manifest = json.loads((first / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["data"]) == {str(p) for p in config.data.train + config.data.dev}
    assert {"torch", "transformers", "python"} <= set(manifest["versions"])
    assert (first / "README.md").read_text(encoding="utf-8").startswith("# feedbackml model card")
    assert "baseline_dev" in manifest["metrics"] and "baseline/weights.safetensors" in manifest["files"]


def test_failed_training_leaves_the_old_model(tiny_base: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("old", encoding="utf-8")
    bad = tiny_config(tmp_path / "no-such-base", tmp_path, out=out)
    with pytest.raises(ValueError, match=r"base model folder .* does not exist"):
        quiet_train(bad)
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
    path = quiet_train(tiny_config(base, tmp_path, train_rows=48, dev_rows=48, max_steps=3, max_length=64, threads=2))
    model = load_model(path)
    prediction = model.predict("采购部门总是推诿扯皮,流程也没写清楚", evidence=True)
    assert set(prediction.barrier_probs) == {"subjective", "objective", "role_misalignment"}
    assert json.loads((path / "config.json").read_text(encoding="utf-8"))["text_prefix"] == "query: "


def test_frozen_layers_do_not_change(tiny_base: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    config = tiny_config(tiny_base, tmp_path, max_steps=3, freeze_layers=1, learning_rate=1e-2)
    before = load_file(str(tiny_base / "model.safetensors"))
    after = load_file(str(quiet_train(config) / "encoder" / "model.safetensors"))

    def weight(state: dict, layer: int):  # type: ignore[no-untyped-def,type-arg]
        return next(v for k, v in state.items() if k.endswith(f"layer.{layer}.attention.self.query.weight"))

    assert (weight(before, 0) == weight(after, 0)).all()
    assert not (weight(before, 1) == weight(after, 1)).all()
    with pytest.raises(ValueError, match="no such stack of layers"):
        quiet_train(config.model_copy(update={"freeze_layers": 5}))
