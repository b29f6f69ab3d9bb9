from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedbackml.config import TrainConfig
from feedbackml.data.records import load_labelled
from feedbackml.evaluate import compare, evaluate, format_comparison
from feedbackml.model import load_model
from feedbackml.trainer import train
from tests.conftest import LABELLED


@pytest.fixture(scope="module")
def tfidf_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("pair")
    data = {"train": [LABELLED / "train.jsonl"], "dev": [LABELLED / "dev.jsonl"]}
    strong = train(TrainConfig(kind="tfidf", out=tmp / "strong", data=data), log=lambda _: None).path
    weak = train(TrainConfig(kind="tfidf", out=tmp / "weak", data=data, tfidf_c=0.01), log=lambda _: None).path
    return weak, strong


def test_evaluate_writes_reports(tfidf_pair: tuple[Path, Path], tmp_path: Path) -> None:
    records = load_labelled([LABELLED / "test.jsonl"])
    report = evaluate(load_model(tfidf_pair[1]), records, tmp_path / "eval", resamples=200)
    saved = json.loads((tmp_path / "eval" / "report.json").read_text(encoding="utf-8"))
    assert saved["n"] == len(records) == report["n"]
    for key in ("macro_f1", "micro_f1"):
        assert 0 <= saved["barriers"][key] <= 1
    low, high = saved["barriers"]["macro_f1_ci95"]
    assert low <= saved["barriers"]["macro_f1"] <= high
    assert set(saved["barriers"]["per_label"]) == {"subjective", "objective", "role_misalignment"}
    assert {"macro_f1", "accuracy", "confusion"} <= set(saved["sentiment"])
    assert {"length", "source"} <= set(saved["slices"])
    shares = saved["shares"]  # each label's share of comments: gold, counted, expected (a cause x its barrier)
    gold_objective = sum("objective" in r.barriers for r in records) / len(records)
    assert shares["per_label"]["objective"]["gold"] == pytest.approx(gold_objective)
    assert set(shares["per_label"]) >= {"negative", "process"}
    assert all(0 <= value < 0.5 for value in shares["mean_absolute_error"].values())
    causes = saved["causes"]  # the TF-IDF model learns causes from the corpus and the test split carries them
    assert set(causes["per_cause"]) == {
        "unwilling",
        "silo_interest",
        "attitude",
        "unresponsive",
        "distrust",
        "unclear_duties",
        "process",
        "systems_info",
        "resources",
        "conflicting_rules",
        "distance",
        "overstepping",
        "absent",
        "inverted",
    }
    assert causes["micro_f1_ci95"][0] <= causes["micro_f1"] <= causes["micro_f1_ci95"][1] and causes["n_cells"] > 0
    assert 0 <= saved["calibration"]["sentiment"]["ece"] <= 1
    # probabilities of a trained model are roughly calibrated; a mis-wired ECE (decision correctness vs p) is ~0.5
    assert saved["calibration"]["barriers"]["ece"] < 0.2
    assert list(saved["slices"]["length"]) == [
        b for b in ("<15", "15-59", "60-149", "150+") if b in saved["slices"]["length"]
    ]
    markdown = (tmp_path / "eval" / "report.md").read_text(encoding="utf-8")
    assert "barrier macro-F1" in markdown and "metrics.png" in markdown
    assert (tmp_path / "eval" / "metrics.png").stat().st_size > 1000
    errors = [
        json.loads(line) for line in (tmp_path / "eval" / "errors.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert errors and all("id" in row and "text" not in row for row in errors)


def test_compare_detects_the_better_model(tfidf_pair: tuple[Path, Path]) -> None:
    records = load_labelled([LABELLED / "test.jsonl"])
    result = compare(load_model(tfidf_pair[0]), load_model(tfidf_pair[1]), records, resamples=200)
    row = result["metrics"]["barriers.macro_f1"]
    assert row["difference"] > 0 and row["p_value"] < 0.05
    assert "barriers.macro_f1" in format_comparison(result)
    same = compare(load_model(tfidf_pair[0]), load_model(tfidf_pair[0]), records, resamples=100)["metrics"]
    assert all(row["difference"] == 0 and row["p_value"] == 1.0 for row in same.values())
