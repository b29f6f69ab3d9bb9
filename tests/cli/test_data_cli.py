from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from feedbackml.cli import app
from tests.conftest import SAMPLE_RECORDS, write_csv, write_jsonl

runner = CliRunner()


def test_validate_clean_file_exits_zero(jsonl_file) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["data", "validate", str(jsonl_file()), "--min-label-share", "0.1"])
    assert result.exit_code == 0, result.output
    assert "6 valid records in 1 file(s); 0 error(s)" in result.output
    assert "barrier subjective" in result.output


def test_validate_bad_file_one_error_per_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    rows = [json.dumps(r, ensure_ascii=False) for r in SAMPLE_RECORDS[:2]]
    rows += [
        json.dumps({**SAMPLE_RECORDS[2], "barriers": ["blame"]}, ensure_ascii=False),
        json.dumps({**SAMPLE_RECORDS[3], "text": ""}, ensure_ascii=False),
        '{"id": "s9", "text": "没写完',
        json.dumps({**SAMPLE_RECORDS[5], "id": "s1"}, ensure_ascii=False),
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["data", "validate", str(path)])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if ": error: " in line]
    assert [line.split(": error: ")[0] for line in errors] == [f"{path}:{n}" for n in (3, 4, 5, 6)]
    assert "Traceback" not in result.output
    for record in SAMPLE_RECORDS:
        assert record["text"] not in result.output


def test_validate_csv_with_column_mapping(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(
        "编号,评论内容,障碍,情感\n1,审批要走五个节点,objective,negative\n2,谢谢IT帮忙,,positive\n", encoding="utf-8"
    )
    args = ["--id-col", "编号", "--text-col", "评论内容", "--barriers-col", "障碍", "--sentiment-col", "情感"]
    result = runner.invoke(app, ["data", "validate", str(path), *args])
    assert result.exit_code == 0, result.output
    missing = runner.invoke(app, ["data", "validate", str(path)])
    assert missing.exit_code == 1 and "missing column 'text'" in missing.output


def test_validate_non_utf8_csv(tmp_path: Path) -> None:
    """GB18030 (Chinese Excel's CSV) is recognised by default; asked for UTF-8 explicitly, the rows that are not
    say so and name the way out."""
    path = write_csv(tmp_path / "gbk.csv", SAMPLE_RECORDS, encoding="gb18030")
    assert runner.invoke(app, ["data", "validate", str(path)]).exit_code == 0
    result = runner.invoke(app, ["data", "validate", str(path), "--encoding", "utf-8"])
    assert result.exit_code == 1
    assert f"{path}:2: error: is not valid utf-8" in result.output and "--encoding gb18030" in result.output
    assert runner.invoke(app, ["data", "validate", str(path), "--encoding", "gb18030"]).exit_code == 0


def test_split_writes_three_files_and_never_overwrites_input(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "all.jsonl", SAMPLE_RECORDS)
    out = tmp_path / "splits"
    result = runner.invoke(app, ["data", "split", str(source), "--out", str(out), "--ratios", "0.5,0.25,0.25"])
    assert result.exit_code == 0, result.output
    ids = [
        json.loads(line)["id"]
        for name in ("train", "dev", "test")
        for line in (out / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert sorted(ids) == sorted(r["id"] for r in SAMPLE_RECORDS)

    clash = write_jsonl(tmp_path / "train.jsonl", SAMPLE_RECORDS)
    refused = runner.invoke(app, ["data", "split", str(clash), "--out", str(tmp_path)])
    assert refused.exit_code == 1 and "would overwrite an input file" in refused.output
    assert [json.loads(line) for line in clash.read_text(encoding="utf-8").splitlines()] == SAMPLE_RECORDS


def test_split_refuses_invalid_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n', encoding="utf-8")
    result = runner.invoke(app, ["data", "split", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and f"{bad}:1:" in result.output and "Traceback" not in result.output


def test_agreement_json(tmp_path: Path) -> None:
    first = write_jsonl(tmp_path / "a.jsonl", SAMPLE_RECORDS)
    second = write_jsonl(tmp_path / "b.jsonl", [{**SAMPLE_RECORDS[0], "sentiment": "neutral"}, *SAMPLE_RECORDS[1:]])
    result = runner.invoke(app, ["data", "agreement", str(first), str(second), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["n"] == 6 and report["kappa"]["subjective"] == 1.0
    assert report["disagreements"] == [{"id": "s1", "field": "sentiment", "first": "negative", "second": "neutral"}]


def test_console_script_runs() -> None:
    result = subprocess.run([sys.executable, "-m", "feedbackml", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "data" in result.stdout


def test_validate_reports_hostile_jsonl_lines_without_a_traceback(tmp_path: Path) -> None:
    from tests.test_io import hostile_jsonl

    path = hostile_jsonl(tmp_path / "hostile.jsonl")
    result = runner.invoke(app, ["data", "validate", str(path), "--no-warnings"])
    assert result.exception is None or isinstance(result.exception, SystemExit)  # not an uncaught error
    assert result.exit_code == 1 and "Traceback" not in result.output and "secret" not in result.output
    for line, what in (
        (2, "lone surrogate"),
        (3, "too deeply"),
        (4, "64 levels"),
        (5, "4,300 digits"),
        (6, "surrogate"),
    ):
        assert f"{path}:{line}: error: " in result.output and what in result.output


def test_a_warning_repeated_on_every_row_is_printed_three_times_and_summarised(tmp_path: Path) -> None:
    records = [
        {
            "id": f"r{i}",
            "text": "".join(chr(0x4E00 + 300 * i + k) for k in range(16)),  # texts that share nothing
            "barriers": ["objective"],
            "sentiment": "negative",
        }
        for i in range(12)
    ]  # no 'source': an optional field, one warning per row
    path = write_jsonl(tmp_path / "new.jsonl", records)
    result = runner.invoke(app, ["data", "validate", str(path)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "warning:" in line and "'source'" in line]
    assert len(lines) == 3
    assert f"{path}: warning: … the same in 9 more row(s) (lines 4, 5, 6, 7, 8, …)" in result.output
    assert "12 valid records in 1 file(s); 0 error(s)" in result.output  # the total still counts every warning
