"""``feedbackml score`` as a user runs it: killed mid-run and rerun, bad inputs, and ``--report``."""

from __future__ import annotations

import errno
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


@pytest.mark.slow
def test_ctrl_c_says_how_to_resume_and_the_rerun_finishes(tiny_model: Path, tmp_path: Path) -> None:
    source = _survey(tmp_path / "survey.csv", rows=60)
    out = tmp_path / "scored.csv"
    process = subprocess.Popen(
        _command(source, out, tiny_model), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    partial = tmp_path / "scored.csv.partial"
    deadline = time.monotonic() + 120
    while len(list(partial.glob("chunk-*"))) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "finished before it could be interrupted; use more rows"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.strip().splitlines()[-1] == (
        f"error: interrupted; run the same command again to resume ({partial} keeps the finished chunks)"
    )
    assert "Traceback" not in stderr and not out.exists()
    rerun = subprocess.run(_command(source, out, tiny_model), check=True, capture_output=True, text=True)
    assert "chunks from the checkpoint" in rerun.stdout and not partial.exists()


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


def _no_space(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("failure", ["out is a folder", "read-only folder", "disk full"])
def test_output_os_errors_are_one_line_and_leave_nothing(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    source = _survey(tmp_path / "survey.csv", rows=6)
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "scored.csv"
    if failure == "out is a folder":
        out.mkdir()
    elif failure == "read-only folder":
        folder.chmod(0o555)  # root ignores modes: refuse creation below the folder as the kernel would
        real_open, real_mkdir = os.open, os.mkdir

        def refuse(real):  # type: ignore[no-untyped-def]
            def call(path, *args, **kwargs):  # type: ignore[no-untyped-def]
                if Path(path).parent == folder:
                    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
                return real(path, *args, **kwargs)

            return call

        monkeypatch.setattr(os, "open", refuse(real_open))
        monkeypatch.setattr(os, "mkdir", refuse(real_mkdir))
    else:
        monkeypatch.setattr("feedbackml.scoring.writer.shutil.copyfileobj", _no_space)  # during assembly
    before = sorted(folder.rglob("*"))
    result = CliRunner().invoke(
        app,
        ["score", str(source), "--out", str(out), "--model", str(tiny_model), "--text-col", "comment"],
    )
    folder.chmod(0o755)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # not an uncaught OSError
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {out}: ") and "Traceback" not in result.output
    expected = {"out is a folder": "is a folder", "read-only folder": "Permission denied", "disk full": "No space"}
    assert expected[failure] in lines[0]
    left = sorted(folder.rglob("*"))
    if failure == "disk full":  # the finished chunks stay for the rerun; nothing else, and no output
        assert "rerun the same command" in lines[0]
        partial = folder / "scored.csv.partial"
        assert not out.exists() and all(partial in (path, path.parent) for path in left)
        assert not [path for path in left if path.name.endswith((".tmp", ".lock"))]
    else:
        assert left == before


def test_org_file_names_the_about_column_and_a_bad_one_is_one_line(tiny_model: Path, tmp_path: Path) -> None:
    from feedbackml.io import iter_rows
    from tests.scoring.test_score import _about_survey

    source = _about_survey(tmp_path / "survey.csv")
    org = tmp_path / "org.csv"
    org.write_text("name,aliases\n供应链管理中心,采购|采购部\n", encoding="utf-8")
    command = ["score", str(source), "--model", str(tiny_model), "--text-col", "comment", "--no-evidence"]
    result = CliRunner().invoke(app, [*command, "--out", str(tmp_path / "ok.csv"), "--org", str(org)])
    assert result.exit_code == 0, result.output
    about = {row.data["rid"]: row.data["about"] for row in iter_rows(tmp_path / "ok.csv") if row.data}
    assert about["a0"] == "供应链管理中心|财务部" and about["a3"] == "供应链管理中心"

    org.write_text("name,aliases\n采购部,采购\n,财务\n", encoding="utf-8")
    out = tmp_path / "bad.csv"
    result = CliRunner().invoke(app, [*command, "--out", str(out), "--org", str(org)])
    assert result.exit_code == 1
    output = result.output.strip()
    assert output == f"error: {org}:3: field 'name' is empty" and "Traceback" not in result.output
    assert not out.exists() and not (tmp_path / "bad.csv.partial").exists()
    missing = CliRunner().invoke(app, [*command, "--out", str(out), "--org", str(tmp_path / "none.csv")])
    assert missing.exit_code == 1 and len(missing.output.strip().splitlines()) == 1
    assert "none.csv: cannot read the org file" in missing.output


def test_dry_run_checks_an_export_without_a_model_or_output(tmp_path: Path) -> None:
    """An analyst checks an export before scoring: no model needed, nothing written, each row's fate counted and
    the bad rows named by line (never by text); exit 1 because a row would be an error."""
    source = _survey(tmp_path / "survey.csv", rows=12)
    out = tmp_path / "scored.csv"
    arguments = ["score", str(source), "--out", str(out), "--model", str(tmp_path / "no-model-here")]
    arguments += ["--text-col", "comment", "--group-col", "department", "--wave-col", "wave", "--dry-run"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 1, result.output
    assert "13 rows would be scored as 11 ok, 1 empty, 1 errors (nothing written)" in result.output
    assert "department: 3 distinct values" in result.output and "wave: 2 distinct values" in result.output
    assert "line 14: error: row 14 has 6 fields" in result.output and "too" not in result.output
    assert not out.exists() and not list(tmp_path.glob("scored.csv*"))
    clean = _survey(tmp_path / "clean.csv", rows=4)
    clean.write_text("".join(clean.read_text(encoding="utf-8").splitlines(keepends=True)[:-1]), encoding="utf-8")
    fine = CliRunner().invoke(app, ["score", str(clean), *arguments[2:]])  # its ragged last line removed
    assert fine.exit_code == 0, fine.output
    missing = CliRunner().invoke(app, ["score", str(source), "--out", str(out), "--dry-run"])
    assert missing.exit_code == 1 and "has no column 'text'" in missing.output


def test_a_gb18030_export_is_read_as_such_and_said(tmp_path: Path) -> None:
    source = tmp_path / "导出.csv"
    source.write_bytes(
        ("rid,comment\n" + "".join(f"r{i},采购那边总说与我无关{i}\n" for i in range(30))).encode("gb18030")
    )
    result = CliRunner().invoke(
        app, ["score", str(source), "--out", str(tmp_path / "o.csv"), "--text-col", "comment", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "is not UTF-8; reading it as GB18030 (--encoding chooses)" in result.output
    assert "30 rows would be scored as 30 ok, 0 empty, 0 errors" in result.output


def test_score_samples_evidence_unless_asked_for_every_row(tiny_model: Path, tmp_path: Path) -> None:
    from feedbackml.io import iter_rows
    from feedbackml.scoring import ScoreOptions

    source = _survey(tmp_path / "survey.csv", rows=80)
    command = ["score", str(source), "--model", str(tiny_model), "--text-col", "comment"]
    assert CliRunner().invoke(app, [*command, "--out", str(tmp_path / "default.csv")]).exit_code == 0
    sampler = ScoreOptions(input=source, output=tmp_path / "x.csv", model=tiny_model)
    rows = [row.data for row in iter_rows(tmp_path / "default.csv") if row.data]
    wanted = [sampler.wants_evidence(int(row["source_line"])) for row in rows]
    assert 0 < sum(wanted) < len(rows) / 4  # the default share (5%) of rows, chosen by position
    assert all(row["evidence"] == "[]" for row, want in zip(rows, wanted, strict=True) if not want)
    every = CliRunner().invoke(app, [*command, "--out", str(tmp_path / "all.csv"), "--evidence-sample", "1"])
    assert every.exit_code == 0
    assert sum(row.data["evidence"] != "[]" for row in iter_rows(tmp_path / "all.csv") if row.data) > sum(wanted)
