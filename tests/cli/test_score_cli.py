"""``feedbackml score`` as a user runs it: killed mid-run and rerun, bad inputs, and ``--report``."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from feedbackml.cli import app
from tests.scoring.test_score import _survey


def _command(source: Path, out: Path, model: Path) -> list[str]:
    return [
        sys.executable, "-m", "feedbackml", "score", str(source), "--out", str(out), "--model", str(model),
        "--text-col", "comment", "--chunk-rows", "4",
    ]  # fmt: skip


@pytest.mark.slow
def test_killed_and_rerun_gives_a_byte_identical_file(tiny_model: Path, tmp_path: Path) -> None:
    source = _survey(tmp_path / "survey.csv", rows=60)
    whole, resumed = tmp_path / "whole.csv", tmp_path / "resumed.csv"
    subprocess.run(_command(source, whole, tiny_model), check=True, capture_output=True)
    process = subprocess.Popen(
        _command(source, resumed, tiny_model), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    partial = tmp_path / "resumed.csv.partial"
    deadline = time.monotonic() + 120
    while len(list(partial.glob("chunk-*"))) < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "finished before it could be killed; use more rows"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not resumed.exists()  # nothing half-written where the output goes
    rerun = subprocess.run(_command(source, resumed, tiny_model), check=True, capture_output=True, text=True)
    assert "chunks from the checkpoint" in rerun.stdout
    assert hashlib.sha256(resumed.read_bytes()).digest() == hashlib.sha256(whole.read_bytes()).digest()
    assert not partial.exists()


def test_bad_inputs_exit_1_with_one_clear_line(tiny_model: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    source = _survey(tmp_path / "survey.csv", rows=4)
    result = runner.invoke(app, ["score", str(source), "--out", str(tmp_path / "o.csv"), "--model", str(tiny_model)])
    assert result.exit_code == 1
    assert "survey.csv: has no column 'text' (--text-col; the file has: 'rid', 'department'" in result.output
    assert "Traceback" not in result.output

    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["2026 员工调研导出", None, None])
    sheet.merge_cells("A1:C1")
    sheet.append(["dept", "wave", "comment"])
    sheet.append(["销售部", "2026Q1", "审批太慢"])
    workbook.save(tmp_path / "merged.xlsx")
    args = ["score", str(tmp_path / "merged.xlsx"), "--out", str(tmp_path / "x.csv"), "--model", str(tiny_model)]
    merged = runner.invoke(app, [*args, "--text-col", "comment"])
    assert merged.exit_code == 1 and "merged or blank header cells" in merged.output and "--header-row" in merged.output
    fixed = runner.invoke(app, [*args, "--text-col", "comment", "--header-row", "2"])
    assert fixed.exit_code == 0, fixed.output

    missing_model = runner.invoke(
        app, ["score", str(source), "--out", str(tmp_path / "m.csv"), "--model", "nope", "--text-col", "comment"]
    )
    assert missing_model.exit_code == 1 and "nope: no such model folder" in missing_model.output


def test_score_with_report_writes_both(tiny_model: Path, tmp_path: Path) -> None:
    source = _survey(tmp_path / "survey.csv", rows=40)
    result = CliRunner().invoke(
        app,
        [
            "score", str(source), "--out", str(tmp_path / "scored.csv"), "--model", str(tiny_model),
            "--text-col", "comment", "--group-col", "department", "--wave-col", "wave", "--redact",
            "--report", str(tmp_path / "report"), "--min-group-size", "5",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "scored 41 rows" in result.output and "peak memory" in result.output
    assert (tmp_path / "report" / "report.html").is_file() and (tmp_path / "report" / "groups.csv").is_file()
