from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import feedbackml
from feedbackml.cli import app


def test_public_api_names_what_the_readme_uses() -> None:
    from feedbackml import (
        Prediction,
        ReportOptions,
        ScoreOptions,
        TrainConfig,
        build_report,
        load_model,
        score,
        train,
    )
    from feedbackml.model import load_model as model_load_model
    from feedbackml.report import build_report as report_build_report

    assert load_model is model_load_model and build_report is report_build_report
    assert all(callable(item) for item in (Prediction, ReportOptions, ScoreOptions, TrainConfig, score, train))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        feedbackml.nope  # noqa: B018


def test_import_is_light_and_the_package_is_typed() -> None:
    code = "import sys, feedbackml; print('torch' in sys.modules, 'sklearn' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
    assert (Path(feedbackml.__file__).parent / "py.typed").is_file()


def test_version_flag() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == feedbackml.__version__


def test_all_lists_every_lazy_export() -> None:
    assert set(feedbackml._EXPORTS) <= set(feedbackml.__all__)
