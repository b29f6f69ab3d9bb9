"""``feedbackml report``: prints where the report went and what was suppressed; one-line errors, no traceback."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from feedbackml.cli import app
from tests.test_report import SMALL_GROUP, SMALL_WORD, survey, write_csv, write_jsonl

runner = CliRunner()


def test_report_command_writes_the_folder(tmp_path: Path) -> None:
    scored = write_csv(tmp_path / "scored.csv", survey())
    out = tmp_path / "report"
    arguments = ["report", str(scored), "--out", str(out), "--group-col", "department", "--wave-col", "wave"]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert f"report written to {out / 'report.html'}" in result.output
    assert "68 rows, 66 scored" in result.output
    assert (
        "groups: 2 shown, 2 suppressed (1 with fewer than 10 rows, not named; 1 so that a smaller one cannot be "
        "worked out by subtraction: 仓储三部)" in result.output
    )
    assert "group x wave cells suppressed: 2" in result.output
    assert SMALL_GROUP not in result.output
    for path in out.iterdir():
        content = path.read_bytes()
        assert SMALL_GROUP.encode() not in content and SMALL_WORD.encode() not in content


def test_report_command_min_group_size_and_force(tmp_path: Path) -> None:
    scored = write_jsonl(tmp_path / "scored.jsonl", survey())
    out = tmp_path / "report"
    arguments = ["report", str(scored), "--out", str(out), "--group-col", "department", "--min-group-size", "2"]
    assert runner.invoke(app, arguments).exit_code == 0
    assert SMALL_GROUP in (out / "report.html").read_text(encoding="utf-8")
    again = runner.invoke(app, [*arguments[:-1], "10"])
    assert again.exit_code == 1
    expected = f"error: {out}: exists and is not empty (expected a new or empty folder; --force replaces it)"
    assert again.output.strip() == expected
    forced = runner.invoke(app, [*arguments[:-1], "10", "--force"])
    assert forced.exit_code == 0, forced.output
    assert SMALL_GROUP not in (out / "report.html").read_text(encoding="utf-8")


def test_report_command_missing_column_is_one_line(tmp_path: Path) -> None:
    scored = write_csv(tmp_path / "scored.csv", survey())
    result = runner.invoke(app, ["report", str(scored), "--out", str(tmp_path / "r"), "--group-col", "部门"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {scored}: has no column '部门'")
    assert "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


def test_report_command_bad_row_never_echoes_text(tmp_path: Path) -> None:
    rows = survey()
    rows[3] = {**rows[3], "sentiment": "angry"}
    scored = write_csv(tmp_path / "scored.csv", rows)
    result = runner.invoke(app, ["report", str(scored), "--out", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: {scored}:5: column 'sentiment' holds 'angry' (expected one of negative, neutral, positive)"
    )
    assert not (tmp_path / "r").exists()


def test_report_command_no_such_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert result.output.strip() == f"error: {tmp_path / 'nope.csv'}: no such file"
