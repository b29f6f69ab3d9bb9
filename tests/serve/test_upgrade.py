"""serve --build: the first model answers at once, a better one trains beside it and is swapped in with no failed
request; stopping the service stops the training."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feedbackml.model import load_model
from feedbackml.serve import ServeSettings, create_app
from feedbackml.serve.upgrade import Upgrade

BODY = {"items": [{"id": "a", "text": "采购部总说与我无关"}]}
JSON = {"Content-Type": "application/json"}


def _copy_command(source: Path, target: Path, wait_s: float = 0.5) -> list[str]:
    """A stand-in for `feedbackml train`: prints a line, waits, publishes a model folder, exits 0."""
    code = (
        f"import shutil, time; print('epoch 1/1', flush=True); time.sleep({wait_s}); "
        f"shutil.copytree({str(source)!r}, {str(target)!r})"
    )
    return [sys.executable, "-c", code]


def _until(client: TestClient, states: set[str], limit_s: float = 60) -> dict[str, object]:
    deadline = time.time() + limit_s
    while time.time() < deadline:
        ready = client.get("/readyz").json()
        if ready.get("upgrade") in states:
            return ready  # type: ignore[no-any-return]
        assert client.post("/v1/classify", json=BODY, headers=JSON).status_code == 200  # never a failed request
        time.sleep(0.05)
    raise AssertionError(f"upgrade never reached {states}")


@pytest.fixture(scope="module")
def tfidf_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model that trains in seconds, as serve --build's first one."""
    from feedbackml.config import TrainConfig
    from tests.conftest import corpus_subset, quiet_train

    folder = tmp_path_factory.mktemp("quick")
    data = {"train": [corpus_subset(folder, "train", 200)], "dev": [corpus_subset(folder, "dev", 80)]}
    return quiet_train(TrainConfig(kind="tfidf", data=data, out=folder / "model"))


def test_the_better_model_is_swapped_in_when_published(tiny_model: Path, tfidf_model: Path, tmp_path: Path) -> None:
    quick, target = tmp_path / "m-quick", tmp_path / "m"
    shutil.copytree(tfidf_model, quick)
    upgrade = Upgrade(_copy_command(tiny_model, target), target, tmp_path / "m-training.log")
    app = create_app(ServeSettings(model_dir=quick, dev_mode=True), model=load_model(quick), upgrade=upgrade)
    with TestClient(app) as client:
        first = client.get("/v1/model").json()
        assert first["kind"] == "tfidf" and first["upgrade"]["state"] in ("training", "swapping", "served")
        ready = _until(client, {"served", "failed"})
        assert ready["upgrade"] == "served", upgrade.detail
        info = client.get("/v1/model").json()
        assert info["kind"] == "encoder" and info["model_dir"] == str(target)
        assert info["model_version"] == ready["model_version"] == load_model(target).version
        assert client.post("/v1/classify", json=BODY, headers=JSON).json()["model_version"] == info["model_version"]
    assert "epoch 1/1" in (tmp_path / "m-training.log").read_text(encoding="utf-8")


def test_a_failed_training_leaves_the_first_model_serving(tfidf_model: Path, tmp_path: Path) -> None:
    quick = tmp_path / "m-quick"
    shutil.copytree(tfidf_model, quick)
    failing = Upgrade([sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "m", tmp_path / "log.txt")
    app = create_app(ServeSettings(model_dir=quick, dev_mode=True), model=load_model(quick), upgrade=failing)
    with TestClient(app) as client:
        assert _until(client, {"failed"})["model_version"] == load_model(quick).version
        assert "status 3" in client.get("/v1/model").json()["upgrade"]["detail"]


def test_stopping_the_service_stops_the_training(tfidf_model: Path, tmp_path: Path) -> None:
    quick = tmp_path / "m-quick"
    shutil.copytree(tfidf_model, quick)
    slow = Upgrade([sys.executable, "-c", "import time; time.sleep(120)"], tmp_path / "m", tmp_path / "log.txt")
    app = create_app(ServeSettings(model_dir=quick, dev_mode=True), model=load_model(quick), upgrade=slow)
    started = time.time()
    with TestClient(app) as client:
        while slow.process is None:
            time.sleep(0.05)
        assert client.get("/readyz").json()["upgrade"] == "training"
    assert slow.process.returncode is not None and time.time() - started < 30
    assert slow.state == "failed" and slow.detail == "stopped with the service"


def test_build_trains_the_quick_model_and_plans_the_background_training(tmp_path: Path) -> None:
    from feedbackml.cli.serve import _first_answer_then_upgrade
    from tests.conftest import corpus_subset

    train, dev = corpus_subset(tmp_path, "train", 200), corpus_subset(tmp_path, "dev", 80)
    config = tmp_path / "build.yaml"
    config.write_text(f"kind: encoder\nepochs: 1\ndata:\n  train: [{train}]\n  dev: [{dev}]\n", encoding="utf-8")
    settings, upgrade = _first_answer_then_upgrade(ServeSettings(model_dir=tmp_path / "m", dev_mode=True), config)
    assert settings.model_dir == tmp_path / "m-quick" and load_model(settings.model_dir).kind == "tfidf"
    assert upgrade.target == tmp_path / "m" and upgrade.command[-4:] == [
        "--config",
        str(config),
        "--out",
        str(tmp_path / "m"),
    ]
    assert upgrade.command[1:4] == ["-m", "feedbackml", "train"]
    before = (settings.model_dir / "manifest.json").read_bytes()
    again, _ = _first_answer_then_upgrade(ServeSettings(model_dir=tmp_path / "m", dev_mode=True), config)
    assert (again.model_dir / "manifest.json").read_bytes() == before  # a restart reuses the quick model


def test_build_with_a_missing_config_is_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from feedbackml.cli import app as cli

    result = CliRunner().invoke(
        cli, ["serve", "--model", str(tmp_path / "m"), "--dev", "--build", str(tmp_path / "no.yaml")]
    )
    assert result.exit_code == 1 and "no.yaml: cannot be read" in result.output and "Traceback" not in result.output
