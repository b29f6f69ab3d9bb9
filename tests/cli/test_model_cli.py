from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from feedbackml.cli import app
from tests.conftest import LABELLED, REPO

runner = CliRunner()


def test_train_predict_evaluate_compare_roundtrip(tmp_path: Path) -> None:
    model = tmp_path / "tfidf"
    result = runner.invoke(app, ["train", "--config", "training/tfidf.yaml", "--out", str(model)])
    assert result.exit_code == 0, result.output
    assert (model / "manifest.json").is_file() and "model written to" in result.output

    result = runner.invoke(app, ["predict", "--model", str(model), "--json", "采购部总说与我无关", "谢谢IT"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert len(lines) == 2 and {"barriers", "sentiment", "evidence", "needs_review"} <= set(lines[0])
    from feedbackml.serve.schemas import ItemResult

    assert ItemResult.model_validate(lines[0]).id == "1" and lines[0]["about"] == ["采购部"]  # the API's item shape
    piped = runner.invoke(
        app, ["predict", "--model", str(model), "--json", "-"], input="采购部总说与我无关\n\n谢谢IT\n"
    )
    assert piped.exit_code == 0, piped.output
    assert [json.loads(line) for line in piped.output.splitlines()] == lines  # '-' reads one comment per line
    empty = runner.invoke(app, ["predict", "--model", str(model), "-"], input="\n")
    assert empty.exit_code == 1 and "no comments on standard input" in empty.output

    result = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            str(model),
            "--data",
            str(LABELLED / "test.jsonl"),
            "--out",
            str(tmp_path / "eval"),
            "--resamples",
            "100",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "eval" / "report.json").read_text(encoding="utf-8"))["n"] > 0

    result = runner.invoke(
        app,
        [
            "compare",
            "--model",
            str(model),
            "--model",
            str(model),
            "--data",
            str(LABELLED / "dev.jsonl"),
            "--resamples",
            "100",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "barriers.macro_f1" in result.output


def test_bad_inputs_are_clear_errors(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "epochs=0"])
    assert result.exit_code == 1 and "epochs" in result.output and "Traceback" not in result.output
    missing = tmp_path / "does-not-exist.yaml"
    result = runner.invoke(app, ["train", "--config", str(missing), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1 and "does-not-exist.yaml" in result.output and "cannot be read" in result.output
    assert not (tmp_path / "m").exists()  # nothing was trained with the defaults instead
    result = runner.invoke(app, ["predict", "--model", str(tmp_path / "none"), "x"])
    assert result.exit_code == 1 and "no such model folder" in result.output
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{", encoding="utf-8")
    result = runner.invoke(app, ["predict", "--model", str(broken), "x"])
    assert result.exit_code == 1 and "not valid JSON" in result.output


def test_retraining_flow_from_the_readme(tmp_path: Path) -> None:
    """Append new labelled rows to a copy of the corpus, retrain with one command, compare with the old model."""
    old = tmp_path / "old"
    assert runner.invoke(app, ["train", "--config", "training/tfidf.yaml", "--out", str(old)]).exit_code == 0
    extended = tmp_path / "my_train.jsonl"
    new_rows = (LABELLED / "dev.jsonl").read_text(encoding="utf-8").splitlines()[:40]
    extended.write_text(
        (LABELLED / "train.jsonl").read_text(encoding="utf-8") + "\n".join(new_rows) + "\n", encoding="utf-8"
    )
    candidate = tmp_path / "candidate"
    result = runner.invoke(
        app, ["train", "--config", "training/tfidf.yaml", f"data.train=[{extended}]", "--out", str(candidate)]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((candidate / "manifest.json").read_text(encoding="utf-8"))
    assert str(extended) in manifest["data"]
    result = runner.invoke(
        app,
        [
            "compare",
            "--model",
            str(old),
            "--model",
            str(candidate),
            "--data",
            str(LABELLED / "test.jsonl"),
            "--resamples",
            "100",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    compared = json.loads(result.output)
    assert compared["a"]["version"] != compared["b"]["version"]
    assert {"a", "b", "difference", "p_value"} <= set(compared["metrics"]["barriers.macro_f1"])


def test_evaluate_runs_the_runtime_asked_for(tiny_model: Path, tmp_path: Path) -> None:
    subset = tmp_path / "test.jsonl"
    subset.write_text("\n".join((LABELLED / "test.jsonl").read_text(encoding="utf-8").splitlines()[:30]) + "\n")
    for runtime in ("torch", "onnx-int8"):
        out = tmp_path / runtime
        arguments = ["evaluate", "--model", str(tiny_model), "--data", str(subset), "--out", str(out)]
        result = runner.invoke(app, [*arguments, "--resamples", "100", "--runtime", runtime])
        assert result.exit_code == 0, result.output
        assert json.loads((out / "report.json").read_text(encoding="utf-8"))["model"]["runtime"] == runtime


def test_train_says_what_does_not_apply_takes_one_file_and_never_overwrites(tmp_path: Path) -> None:
    small = tmp_path / "small.jsonl"
    small.write_text(
        "\n".join((LABELLED / "train.jsonl").read_text(encoding="utf-8").splitlines()[:300]) + "\n", encoding="utf-8"
    )
    out = tmp_path / "m"
    arguments = ["train", "--config", "training/tfidf.yaml", "epochs=3", f"data.train={small}", "--out", str(out)]
    result = runner.invoke(app, arguments)  # one file without brackets, and an encoder setting for TF-IDF
    assert result.exit_code == 0, result.output
    assert "warning: epochs does not apply to a tfidf model (ignored)" in result.output
    before = (out / "manifest.json").read_bytes()
    again = runner.invoke(app, arguments)
    assert again.exit_code == 1 and f"{out}: exists and is not empty" in again.output and "--force" in again.output
    assert (out / "manifest.json").read_bytes() == before


def test_train_runs_from_any_folder_and_names_the_kind_with_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = tmp_path / "small.jsonl"
    small.write_text(
        "\n".join((LABELLED / "train.jsonl").read_text(encoding="utf-8").splitlines()[:200]) + "\n", encoding="utf-8"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # dev comes from the config file (relative to it), train from the command line
    config = str(REPO / "training" / "default.yaml")
    result = runner.invoke(
        app, ["train", "--config", config, "--kind", "tfidf", "data.train=../small.jsonl", "--out", "m"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((elsewhere / "m" / "config.json").read_text(encoding="utf-8"))["kind"] == "tfidf"
    manifest = json.loads((elsewhere / "m" / "manifest.json").read_text(encoding="utf-8"))
    assert str(LABELLED / "dev.jsonl") in manifest["data"]  # found beside the config, not in the working folder
    old = runner.invoke(
        app, ["train", "--config", config, "--model", "tfidf", "data.train=../small.jsonl", "--out", "n"]
    )
    assert old.exit_code == 0 and "train --model is now --kind" in old.output
