from __future__ import annotations

from pathlib import Path

import pytest

from feedbackml.config import ConfigError, load_config


def test_defaults_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 3\ncalibration:\n  target_coverage: 0.8\n", encoding="utf-8")
    config = load_config(path, ["learning_rate=2e-5", "data.train=[a.jsonl, b.jsonl]", "kind=tfidf"])
    assert config.epochs == 3 and config.learning_rate == 2e-5 and config.kind == "tfidf"
    assert config.calibration.target_coverage == 0.8
    assert [str(p) for p in config.data.train] == ["a.jsonl", "b.jsonl"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["epochs=0"], "epochs"),
        (["epoch=3"], "epoch: Extra inputs are not permitted"),
        (["kind=bert"], "kind"),
        (["noequals"], "not of the form key=value"),
        (["epochs=3", "epochs.x=1"], "'epochs' is not a section"),
    ],
)
def test_bad_settings_name_the_key(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)


def test_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path / "missing.yaml")


def test_shipped_default_config_is_valid() -> None:
    config = load_config(Path(__file__).resolve().parents[1] / "training" / "default.yaml")
    assert config.kind == "encoder"


def test_paths_in_a_config_file_are_relative_to_it_and_on_the_command_line_to_the_caller(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    config = load_config(root / "training" / "default.yaml", ["data.dev=mine.jsonl"])
    assert config.data.train == [root / "data" / "labelled" / "train.jsonl"]
    assert config.out == root / "models" / "default"
    assert Path(config.base_model) == root / "models" / "base"
    assert config.data.dev == [Path("mine.jsonl")]  # typed by the user: relative to where they are
    (tmp_path / "hub.yaml").write_text("base_model: intfloat/multilingual-e5-small\n", encoding="utf-8")
    assert load_config(tmp_path / "hub.yaml").base_model == "intfloat/multilingual-e5-small"
