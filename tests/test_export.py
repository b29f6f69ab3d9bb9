from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from feedbackml.artifacts import ModelFolderError, read_json, read_manifest, write_manifest
from feedbackml.cli import app
from feedbackml.export import ExportError, choose_default, export_folder, export_onnx
from feedbackml.labels import BARRIERS, SENTIMENTS
from feedbackml.model import load_model
from feedbackml.model.backends import ONNX_FILES
from feedbackml.serve import ServeSettings, create_app
from tests.conftest import SAMPLE_RECORDS, corpus_subset

runner = CliRunner()
FIXED = [r["text"] for r in SAMPLE_RECORDS] + ["采购部门总是推说与我无关,流程也没有写清楚。" * 12]  # the last is split
# ONNX fp32 computes torch's arithmetic in another order: logits agree to ~1e-7, probabilities far inside 1e-4.
FP32_TOLERANCE = 1e-4


def _int8_tolerances(folder: Path, temperature: float) -> tuple[float, float]:
    """How far int8 probabilities may move: the export measured the model's largest int8 logit error d on dev
    (recorded in config.json; the tiny model's random base puts it anywhere from ~0.1 to ~0.5). Allowing 2d on
    other comments, a sigmoid (slope at most 1/4) moves by at most d/2 and a softmax at temperature T (slope at
    most 1/(2T)) by d/T."""
    d = read_json(folder / "config.json")["runtimes"]["check_max_abs_logit_diff"]["onnx-int8"]
    return d / 2, d / temperature


def _without_export(source: Path, destination: Path) -> Path:
    """A copy of an encoder folder as a model trained before exports existed: no onnx/, no runtimes."""
    shutil.copytree(source, destination)
    manifest = read_manifest(destination)
    shutil.rmtree(destination / "onnx")
    config = read_json(destination / "config.json")
    del config["runtimes"]
    (destination / "config.json").write_text(json.dumps(config, ensure_ascii=False, indent=1), encoding="utf-8")
    write_manifest(destination, data=manifest["data"], metrics=manifest["metrics"], previous=manifest)
    return destination


def test_train_exports_and_auto_loads_the_recorded_default(tiny_model: Path) -> None:
    manifest = read_manifest(tiny_model)
    assert set(ONNX_FILES.values()) <= set(manifest["files"])
    record = read_json(tiny_model / "config.json")["runtimes"]
    assert record["default"] in ("torch", "onnx", "onnx-int8")
    assert set(record["dev"]) == {"torch", "onnx", "onnx-int8"}
    assert record["check_max_abs_logit_diff"]["onnx"] < 1e-3
    assert load_model(tiny_model).runtime == record["default"]
    assert load_model(tiny_model, runtime="auto").runtime == record["default"]
    assert "## Runtimes" in (tiny_model / "README.md").read_text(encoding="utf-8")


def test_runtime_parity_on_a_fixed_set(tiny_model: Path) -> None:
    """Same labels wherever torch is not within the tolerance of a decision boundary; probabilities within it."""
    torch_model = load_model(tiny_model, runtime="torch")
    reference = torch_model.predict(FIXED)
    assert reference[-1].split
    thresholds = torch_model.calibration.thresholds
    int8 = _int8_tolerances(tiny_model, torch_model.calibration.temperature)
    for runtime, (barrier_tolerance, sentiment_tolerance) in (
        ("onnx", (FP32_TOLERANCE, FP32_TOLERANCE)),
        ("onnx-int8", int8),
    ):
        model = load_model(tiny_model, runtime=runtime)
        assert model.runtime == runtime and model.version == torch_model.version
        for want, got in zip(reference, model.predict(FIXED), strict=True):
            assert got.split == want.split
            for label in BARRIERS:
                assert got.barrier_probs[label] == pytest.approx(want.barrier_probs[label], abs=barrier_tolerance)
                if abs(want.barrier_probs[label] - thresholds[label]) > barrier_tolerance:
                    assert (label in got.barriers) == (label in want.barriers)
            for label in SENTIMENTS:
                assert got.sentiment_probs[label] == pytest.approx(want.sentiment_probs[label], abs=sentiment_tolerance)
            top, second = sorted(want.sentiment_probs.values())[::-1][:2]
            if top - second > 2 * sentiment_tolerance:
                assert got.sentiment == want.sentiment


def test_evidence_and_long_texts_are_shared_logic(tiny_model: Path) -> None:
    torch_model, onnx_model = load_model(tiny_model, runtime="torch"), load_model(tiny_model, runtime="onnx")
    for model in (torch_model, onnx_model):
        model.calibration.thresholds = dict.fromkeys(BARRIERS, 0.0)
    texts = ["  采购部  总是推诿扯皮,ＩＴ系统也不通!", "谢谢", "流程太长"]
    want, got = torch_model.predict(texts, evidence=True), onnx_model.predict(texts, evidence=True)
    assert [[(e.word, e.start, e.label) for e in p.evidence] for p in got] == [
        [(e.word, e.start, e.label) for e in p.evidence] for p in want
    ]
    # evidence for many comments at once is the evidence of each alone
    alone = [torch_model.predict(text, evidence=True).evidence for text in texts]
    assert [[(e.word, e.label) for e in p.evidence] for p in want] == [[(e.word, e.label) for e in a] for a in alone]


def test_tampered_onnx_is_refused(tiny_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model, copy)
    int8 = copy / ONNX_FILES["onnx-int8"]
    int8.write_bytes(int8.read_bytes()[:-16] + b"\0" * 16)
    with pytest.raises(ModelFolderError, match=r"onnx/model.int8.onnx does not match its sha256"):
        load_model(copy, runtime="onnx-int8")
    with pytest.raises(ModelFolderError, match="does not match"):
        load_model(copy, runtime="torch")  # the manifest covers the whole folder, whatever runs


def test_unknown_or_missing_runtimes_are_clear_errors(tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown runtime 'gpu'"):
        load_model(tiny_model, runtime="gpu")
    old = _without_export(tiny_model, tmp_path / "old")
    assert load_model(old).runtime == "torch"  # never exported: auto is torch
    with pytest.raises(ModelFolderError, match="feedbackml export"):
        load_model(old, runtime="onnx-int8")
    tfidf = load_model(tiny_model / "baseline", verify=False)
    assert tfidf.kind == "tfidf"
    with pytest.raises(ModelFolderError, match="no onnx runtime"):
        load_model(tiny_model / "baseline", verify=False, runtime="onnx")


def test_export_adds_manifest_entries_atomically(tiny_model: Path, tmp_path: Path) -> None:
    old = _without_export(tiny_model, tmp_path / "old")
    before = read_manifest(old)
    version = load_model(old).version
    record = export_folder(old, dev=[corpus_subset(tmp_path, "dev", 24)], log=lambda _: None)
    after = read_manifest(old)
    assert set(after["files"]) == set(before["files"]) | set(ONNX_FILES.values())
    assert after["created"] == before["created"] and after["data"] == before["data"]
    assert after["metrics"] == before["metrics"] and "updated" in after
    assert read_json(old / "config.json")["runtimes"] == record and record["dev_size"] == 24
    model = load_model(old)
    assert model.runtime == record["default"] and model.version != version  # the version hashes the file list
    assert not list(tmp_path.glob(".old.*"))  # no staging or retired folder left behind


def test_export_refuses_a_disagreeing_graph(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_model(tiny_model, runtime="torch")
    real_forward = model.backend.forward  # type: ignore[attr-defined]

    def shifted(input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, ...]:
        barrier, sentiment, causes = real_forward(input_ids, attention_mask)
        return barrier + 0.01, sentiment, causes  # what the exported graph computes no longer matches "torch"

    monkeypatch.setattr(model.backend, "forward", shifted)  # type: ignore[attr-defined]
    with pytest.raises(ExportError, match=r"onnx/model.onnx disagrees with the torch model"):
        export_onnx(model, tmp_path, FIXED)  # type: ignore[arg-type]
    assert not (tmp_path / "onnx").exists()


def test_choose_default() -> None:
    def row(b: float, s: float, speed: float) -> dict[str, float]:
        return {"barriers_macro_f1": b, "sentiment_macro_f1": s, "comments_per_s": speed}

    measured = {"torch": row(0.80, 0.70, 50), "onnx": row(0.80, 0.70, 60), "onnx-int8": row(0.796, 0.695, 100)}
    assert choose_default(measured) == "onnx-int8"  # 0.4 and 0.5 point losses are within 0.5
    measured["onnx-int8"] = row(0.80, 0.694, 100)
    assert choose_default(measured) == "onnx"  # 0.6 point sentiment loss
    measured["onnx"] = row(0.79, 0.70, 60)
    assert choose_default(measured) == "torch"
    # a fixed order decides, not the measured speed: a slower int8 timing still makes int8 the default
    measured = {"torch": row(0.80, 0.70, 90), "onnx": row(0.80, 0.70, 95), "onnx-int8": row(0.80, 0.70, 10)}
    assert choose_default(measured) == "onnx-int8"


def test_export_and_predict_cli(tiny_model: Path, tmp_path: Path) -> None:
    old = _without_export(tiny_model, tmp_path / "old")
    dev = corpus_subset(tmp_path, "dev", 16)
    result = runner.invoke(app, ["export", "--model", str(old), "--dev", str(dev)])
    assert result.exit_code == 0, result.output
    assert "default runtime" in result.output and (old / ONNX_FILES["onnx-int8"]).is_file()
    for runtime in ("torch", "onnx", "onnx-int8", "auto"):
        result = runner.invoke(app, ["predict", "--model", str(old), "--runtime", runtime, "--json", "审批太慢"])
        assert result.exit_code == 0, result.output
        lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0]["sentiment"]["label"] in SENTIMENTS
    result = runner.invoke(app, ["predict", "--model", str(old), "--runtime", "gpu", "审批太慢"])
    assert result.exit_code == 1 and "unknown runtime 'gpu'" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["export", "--model", str(old), "--dev", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 1 and "none.jsonl" in result.output and "Traceback" not in result.output


def test_serve_loads_the_configured_runtime(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACKML_RUNTIME", "onnx-int8")
    settings = ServeSettings(model_dir=tiny_model, api_keys="k")
    assert settings.runtime == "onnx-int8"
    assert ServeSettings(model_dir=tiny_model, api_keys="k", runtime="auto").runtime == "auto"
    with TestClient(create_app(settings)) as client:
        assert client.app.state.service.model.runtime == "onnx-int8"  # type: ignore[attr-defined]
        response = client.post(
            "/v1/classify", json={"items": [{"id": "a", "text": "审批慢"}]}, headers={"Authorization": "Bearer k"}
        )
        assert response.status_code == 200, response.text
    monkeypatch.setenv("FEEDBACKML_RUNTIME", "gpu")
    with pytest.raises(ValueError, match="runtime"):
        ServeSettings(model_dir=tiny_model, api_keys="k")


def test_the_same_weights_always_get_the_same_default_runtime(tiny_model: Path, tmp_path: Path) -> None:
    """What decides the default (dev macro-F1 of each runtime, a fixed order) is a function of the weights: two
    exports of one folder measure the same figures and record the same default; only the speeds differ."""
    folder = _without_export(tiny_model, tmp_path / "m")
    dev = [corpus_subset(tmp_path, "dev", 32)]
    first = export_folder(folder, dev=dev, log=lambda _: None)
    second = export_folder(folder, dev=dev, log=lambda _: None)
    assert first["default"] == second["default"]
    accuracy = ("barriers_macro_f1", "sentiment_macro_f1")
    for runtime in first["dev"]:
        assert [first["dev"][runtime][k] for k in accuracy] == [second["dev"][runtime][k] for k in accuracy]
