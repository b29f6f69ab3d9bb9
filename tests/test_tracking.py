"""train and evaluate --mlflow log to a real MLflow file store; without the flag nothing is logged."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from feedbackml.cli import app
from tests.conftest import corpus_subset

runner = CliRunner()


def test_train_and_evaluate_log_runs_to_a_tracking_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    train, dev = corpus_subset(tmp_path, "train", 150), corpus_subset(tmp_path, "dev", 60)
    store = tmp_path / "mlruns"
    model = tmp_path / "m"
    result = runner.invoke(
        app,
        [
            "train",
            "--kind",
            "tfidf",
            f"data.train={train}",
            f"data.dev={dev}",
            "--out",
            str(model),
            "--mlflow",
            str(store),
        ],
    )
    assert result.exit_code == 0, result.output
    evaluated = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            str(model),
            "--data",
            str(dev),
            "--out",
            str(tmp_path / "e"),
            "--resamples",
            "100",
            "--mlflow",
            str(store),
        ],
    )
    assert evaluated.exit_code == 0, evaluated.output
    client = mlflow.MlflowClient(tracking_uri=store.resolve().as_uri())
    experiment = client.get_experiment_by_name("feedbackml")
    runs = {run.data.tags["feedbackml.command"]: run for run in client.search_runs([experiment.experiment_id])}
    trained, scored = runs["train"], runs["evaluate"]
    assert trained.data.params["kind"] == "tfidf" and trained.data.params["data.train"] == str([str(train)])
    assert 0 < trained.data.metrics["dev.barriers.macro_f1"] <= 1 and trained.info.status == "FINISHED"
    assert {a.path for a in client.list_artifacts(trained.info.run_id)} >= {"README.md", "config.json"}
    low, value, high = (scored.data.metrics[f"barriers.macro_f1{s}"] for s in (".low", "", ".high"))
    assert low <= value <= high and scored.data.params["model"] == str(model)
    assert {a.path for a in client.list_artifacts(scored.info.run_id)} == {"report.json", "report.md"}


def test_mlflow_missing_is_one_line_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_mlflow(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "mlflow" or name.startswith("mlflow."):
            raise ImportError("no mlflow here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mlflow)
    out = tmp_path / "m"
    result = runner.invoke(app, ["train", "--kind", "tfidf", "--out", str(out), "--mlflow", str(tmp_path / "runs")])
    assert result.exit_code == 1 and "pip install mlflow-skinny" in result.output and not out.exists()
