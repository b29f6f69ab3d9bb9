"""The research scripts the model card's tables come from: one ablation row, rendered."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import yaml

from tests.conftest import corpus_subset

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_experiment_trains_on_a_fraction_and_scores_test_and_ood(
    tiny_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    experiment, table = _script("experiment"), _script("results_table")
    config = tmp_path / "recipe.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "base_model": str(tiny_base),
                "epochs": 1,
                "max_steps": 3,
                "batch_size": 8,
                "max_length": 48,
                "threads": 1,
                "data": {
                    "train": [str(corpus_subset(tmp_path, "train", 80))],
                    "dev": [str(corpus_subset(tmp_path, "dev", 40))],
                },
            }
        ),
        encoding="utf-8",
    )
    (tmp_path / "test").mkdir()
    (tmp_path / "ood").mkdir()
    sets = {"test": corpus_subset(tmp_path / "test", "test", 40), "ood": corpus_subset(tmp_path / "ood", "test", 30)}
    monkeypatch.setattr(experiment, "SETS", sets)
    results = tmp_path / "results"
    code = experiment.main(
        [
            "--name",
            "half",
            "--config",
            str(config),
            "--fraction",
            "0.5",
            "--results",
            str(results),
            "--resamples",
            "20",
            "companion_weight=0.3",
        ]
    )
    assert code == 0
    row = json.loads((results / "half.json").read_text(encoding="utf-8"))
    assert row["train_size"] == 40 and row["companion_weight"] == 0.3 and row["overrides"] == ["companion_weight=0.3"]
    for split in ("test", "ood"):
        assert set(row[split]) == {"model", "encoder_alone", "tfidf_alone"}
        point, low, high = row[split]["model"]["barriers_macro_f1"]
        assert 0 <= low <= point <= high <= 1
    assert not list(results.glob("*.tmp"))
    capsys.readouterr()
    table.main([str(results / "half.json")])
    printed = capsys.readouterr().out
    assert "| half | 40 | 0.3 |" in printed and "**tfidf_alone**" in printed


def test_the_inference_ablation_scores_each_member_and_robustness_without_t2s(
    tiny_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import quiet_train, tiny_config

    ablation = _script("inference_ablation")
    folder = quiet_train(tiny_config(tiny_base, tmp_path, companion_weight=0.3))
    (tmp_path / "test").mkdir()
    (tmp_path / "ood").mkdir()
    sets = {"test": corpus_subset(tmp_path / "test", "test", 40), "ood": corpus_subset(tmp_path / "ood", "test", 30)}
    monkeypatch.setattr(ablation, "SETS", sets)
    out = tmp_path / "inference.json"
    assert ablation.main(["--model", str(folder), "--out", str(out), "--resamples", "20", "--comments", "20"]) == 0
    row = json.loads(out.read_text(encoding="utf-8"))
    assert {"blend", "encoder_alone", "tfidf_alone", "blend_without_t2s"} <= set(row)
    assert row["blend"]["test"]["barriers_macro_f1"] != row["encoder_alone"]["test"]["barriers_macro_f1"] or (
        row["blend"]["ood"]["sentiment_macro_f1"] != row["encoder_alone"]["ood"]["sentiment_macro_f1"]
    )
    assert row["blend"]["robustness"]["comments"] == 20
    assert "traditional" in row["blend_without_t2s"]["robustness"]["kinds"]
    from feedbackml.text import normalize

    assert normalize("報銷") == "报销"  # the switch is put back


@pytest.mark.skipif(
    not (shutil.which("chromium-headless-shell") or shutil.which("chromium")) or not shutil.which("pdftoppm"),
    reason="needs headless Chromium and pdftoppm (apt-get install chromium-headless-shell poppler-utils)",
)
def test_report_screenshots_writes_the_five_views(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    from feedbackml.report import build_report
    from tests.report.test_internal import OPTIONS, survey
    from tests.test_report import write_csv

    build_report(write_csv(tmp_path / "scored.csv", survey()), tmp_path / "report", OPTIONS)
    before = (tmp_path / "report" / "report.html").read_bytes()
    monkeypatch.setattr(
        "sys.argv", ["report_screenshots", str(tmp_path / "report" / "report.html"), "--out", str(tmp_path / "shots")]
    )
    _script("report_screenshots").main()
    views = {}
    for path in (tmp_path / "shots").glob("*.png"):
        with Image.open(path) as image:
            views[path.stem] = image.copy()
    assert set(views) == {"overview", "map", "drill-down", "print-preview", "phone"}
    assert views["phone"].width == 390 and views["overview"].width == 1280
    assert all(len(image.convert("L").getcolors(maxcolors=1 << 16) or []) > 10 for image in views.values())  # not blank
    assert (tmp_path / "report" / "report.html").read_bytes() == before  # the report is never modified


def test_uncertainty_ranking_reports_the_queue_against_the_rest(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ranking = _script("uncertainty_ranking")
    data = corpus_subset(tmp_path, "test", 40)
    monkeypatch.setattr("sys.argv", ["uncertainty_ranking", "--model", str(tiny_model), "--data", str(data)])
    ranking.main()
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{data}: 40 comments,") and "the 20% most uncertain" in line and "ROC AUC" in line


def test_evidence_faithfulness_compares_each_method_with_exhaustive_occlusion(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "faithfulness.json"
    data = Path(__file__).resolve().parents[1] / "data" / "labelled" / "test.jsonl"
    argv = ["x", "--model", str(tiny_model), "--data", str(data), "--rows", "6", "--k", "1", "--json", str(out)]
    monkeypatch.setattr("sys.argv", argv)
    _script("evidence_faithfulness").main()
    result = json.loads(out.read_text(encoding="utf-8"))
    assert set(result) >= {"exhaustive", "coarse", "direct-1"}
    assert result["exhaustive"]["same_top_word"] == 1.0 and result["exhaustive"]["top3_overlap"] == 1.0
    for method in ("coarse", "direct-1"):
        assert 0 <= result[method]["same_top_word"] <= 1 and result[method]["cost_vs_plain"] > 0
        assert result[method]["pairs"] == result["exhaustive"]["pairs"] > 0


def test_the_evidence_ranker_study_scores_every_ranker_against_exhaustive_occlusion(
    tiny_model: Path, tmp_path: Path
) -> None:
    study = _script("evidence_ranker_study")
    data = tmp_path / "data"
    data.mkdir()
    for split, rows in (("train", 24), ("dev", 12), ("test", 12)):
        corpus_subset(data, split, rows)
    out = tmp_path / "study.json"
    arguments = ["--model", str(tiny_model), "--data", str(data), "--work", str(tmp_path / "work"), "--epochs", "1"]
    study.main([*arguments, "--finetune-epochs", "1", "--json", str(out)])
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["comments"]["train"] > 0 and result["comments"]["test"] > 0
    for ranker in ("companion", "direct", "mlp", "finetuned", "oracle"):
        for budget, cell in result[f"{ranker}/test"].items():
            assert cell["pairs"] > 0
            assert cell["words_occluded"] <= int(budget)
            low, high = cell["same_top_word_ci95"]
            assert 0 <= low <= cell["same_top_word"] <= high <= 1
    assert result["union_of_true_top3_words"]["test"] > 0
    # the companion's change, recovered from what step 1 stored, and the encoder's exact change give back every
    # deletion's probabilities: the oracle is exact, and any ranker is judged on the encoder's part alone
    from feedbackml.model import load_model

    model = load_model(tiny_model, runtime="onnx-int8", threads=1)
    weight = float(model.companion_weight)
    assert weight > 0
    records = study.load_split(tmp_path / "work", data, "test", 2, model)
    for record in records:
        exact = record["own_v"] - record["own_b"][None]
        assert np.allclose(study.guessed(record, exact, model.calibration, weight), record["var_p"], atol=1e-4)
    ignoring_the_encoder = [
        np.abs(study.guessed(r, 0 * r["own_v"], model.calibration, weight) - r["var_p"]).max() for r in records
    ]
    assert max(ignoring_the_encoder) > 1e-3
