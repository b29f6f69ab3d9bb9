from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedbackml.artifacts import publishing
from feedbackml.model import load_model
from tests.conftest import quiet_train, tiny_config


def test_training_is_seeded_and_reproducible(tiny_base: Path, tmp_path: Path) -> None:
    config = tiny_config(tiny_base, tmp_path)
    first = quiet_train(config.model_copy(update={"out": tmp_path / "a"}))
    second = quiet_train(config.model_copy(update={"out": tmp_path / "b"}))
    a, b = load_model(first), load_model(second)
    assert a.runtime == b.runtime == "torch"  # tiny_config turns the export off: no ONNX files to choose from
    assert a.predict("流程太慢").barrier_probs == b.predict("流程太慢").barrier_probs
    manifest = json.loads((first / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["data"]) == {str(p) for p in config.data.train + config.data.dev}
    assert {"torch", "transformers", "python"} <= set(manifest["versions"])
    assert (first / "README.md").read_text(encoding="utf-8").startswith("# feedbackml model card")
    assert "baseline_dev" in manifest["metrics"]
    assert "baseline/weights.safetensors" in manifest["files"]
    assert not any(name.startswith("onnx/") for name in manifest["files"])


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


def test_early_stopping_restores_the_best_epoch(
    tiny_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Epoch 1 scores best, epochs 2 and 3 worse: training stops after patience=2 stale epochs and publishes the
    weights of epoch 1, not the last ones."""
    import numpy as np
    from safetensors.torch import load_file

    import feedbackml.trainer as trainer

    scripted = iter([0.9, 0.5, 0.4, 0.3])
    heads_by_epoch: list[np.ndarray] = []
    logged: list[str] = []

    def scripted_scores(model, dev):  # type: ignore[no-untyped-def]
        heads_by_epoch.append(model.backend.net.barrier_head.weight.detach().clone().numpy())
        value = next(scripted)
        return {"barriers": {"macro_f1": value}, "sentiment": {"macro_f1": value}}

    monkeypatch.setattr(trainer, "dev_scores", scripted_scores)
    config = tiny_config(tiny_base, tmp_path, epochs=4, max_steps=None, patience=2, head_learning_rate=0.05)
    result = trainer.train(config, log=logged.append, progress=False)
    assert result.epochs == 3 and len(heads_by_epoch) == 3
    assert any("stopping, keeping epoch 1" in line for line in logged)
    published = load_file(str(result.path / "heads.safetensors"))["barrier_head.weight"].numpy()
    assert np.array_equal(published, heads_by_epoch[0])
    assert not np.array_equal(published, heads_by_epoch[2])  # the weights did move after epoch 1


def test_layer_rates_decay_from_the_top(tiny_base: Path, tmp_path: Path) -> None:
    from transformers import AutoModel

    from feedbackml.model.network import FeedbackNet
    from feedbackml.trainer import _parameter_groups

    net = FeedbackNet(AutoModel.from_pretrained(tiny_base, add_pooling_layer=False))
    net.encoder.get_input_embeddings().weight.requires_grad_(False)
    config = tiny_config(tiny_base, tmp_path, learning_rate=1e-3, head_learning_rate=5e-3, layer_lr_decay=0.5)
    rates = [group["lr"] for group in _parameter_groups(net, config)]
    assert rates == [5e-3, 1e-3, 5e-4, 2.5e-4]  # heads, top layer, bottom layer, the rest of the embeddings
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    assert sum(p.numel() for group in _parameter_groups(net, config) for p in group["params"]) == trainable


def test_training_off_a_terminal_logs_progress_within_each_epoch(tiny_base: Path, tmp_path: Path) -> None:
    """serve --build logs the child's output: with no progress bar there, quarter-epoch lines say it moves."""
    from feedbackml.trainer import train
    from tests.conftest import tiny_config

    lines: list[str] = []
    train(tiny_config(tiny_base, tmp_path, max_steps=8, freeze_layers=1), log=lines.append, progress=False)
    assert any(line.startswith("computing the frozen bottom 1 layer(s) once for 64 comments") for line in lines)
    assert [line.split(",")[0] for line in lines if ": step " in line] == [
        "epoch 1/1: step 2/8",
        "epoch 1/1: step 4/8",
        "epoch 1/1: step 6/8",
    ]
