from __future__ import annotations

from pathlib import Path

from feedbackml.data.validate import format_summary, summarize, validate_files
from tests.conftest import SAMPLE_RECORDS, write_jsonl


def test_clean_file_has_no_errors(jsonl_file) -> None:  # type: ignore[no-untyped-def]
    report = validate_files([jsonl_file()])
    assert report.ok, [str(p) for p in report.errors]
    assert len(report.records) == len(SAMPLE_RECORDS)
    table = format_summary(report)
    assert "barrier role_misalignment" in table and "records" in table


def test_each_bad_line_gets_one_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = SAMPLE_RECORDS[0]
    lines = [
        '{"id": "x1", "text": "审批太慢", "barriers": ["objective"], "sentiment": "negative", "source": "pulse_chat"}',
        '{"id": "x2", "text": "没人管", "barriers": ["laziness"], "sentiment": "negative", "source": "pulse_chat"}',
        '{"id": "x3", "text": "   ", "barriers": [], "sentiment": "neutral", "source": "pulse_chat"}',
        '{"id": "x4", "text": "半截',
        '{"id": "x1", "text": "另一条评论完全不同", "barriers": [], "sentiment": "positive", "source": "pulse_chat"}',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = validate_files([path])
    errors = [str(p) for p in report.errors]
    assert len(errors) == 4, errors
    assert errors[0].startswith(f"{path}:2: error: field 'barriers' has unknown label 'laziness'")
    assert errors[1].startswith(f"{path}:3: error: field 'text' is empty")
    assert errors[2].startswith(f"{path}:4: error: is not valid JSON")
    assert errors[3].startswith(f"{path}:5: error: duplicate id 'x1' (first at {path}:1")
    assert all("expected" in e for e in errors)
    assert good["text"] not in "".join(errors)


def test_duplicates_within_and_across_files(tmp_path: Path) -> None:
    first = write_jsonl(tmp_path / "train.jsonl", SAMPLE_RECORDS)
    leaked = {**SAMPLE_RECORDS[4], "id": "t9", "text": SAMPLE_RECORDS[4]["text"].replace("三遍", "三次")}
    second = write_jsonl(tmp_path / "test.jsonl", [leaked])
    report = validate_files([first, second])
    (error,) = report.errors
    assert error.path == str(second) and "near-duplicate of" in error.message and "another file" in error.message

    conflicting = {**SAMPLE_RECORDS[0], "id": "s99", "sentiment": "neutral"}
    report = validate_files([write_jsonl(tmp_path / "one.jsonl", [*SAMPLE_RECORDS, conflicting])])
    (error,) = report.errors
    assert "different labels" in error.message


def test_rare_label_warning(tmp_path: Path) -> None:
    records = [r for r in SAMPLE_RECORDS if "role_misalignment" not in r["barriers"]]
    report = validate_files([write_jsonl(tmp_path / "d.jsonl", records)])
    assert report.ok
    assert any("label 'role_misalignment' is on 0 of" in p.message for p in report.warnings)


def test_unreadable_file_is_an_error_not_an_exception(tmp_path: Path) -> None:
    report = validate_files([tmp_path / "nope.jsonl"])
    assert not report.ok and "no such file" in report.errors[0].message


def test_summary_counts() -> None:
    from feedbackml.data.records import LabelledRecord

    records = [
        LabelledRecord("a", "一二三", ("subjective", "objective"), "negative"),
        LabelledRecord("b", "一二三四五", (), "positive"),
    ]
    summary = summarize(records)
    assert summary["n"] == 2
    assert summary["barriers"] == {"subjective": 1, "objective": 1, "role_misalignment": 0}
    assert summary["no_barrier"] == 1 and summary["multi_barrier"] == 1
    assert summary["length"]["min"] == 3 and summary["length"]["max"] == 5


def test_hostile_jsonl_lines_are_reported_by_line(tmp_path: Path) -> None:
    from tests.test_io import hostile_jsonl

    report = validate_files([hostile_jsonl(tmp_path / "hostile.jsonl")])  # used to raise RecursionError
    unreadable = [p for p in report.errors if "(expected" in p.message and p.line in (2, 3, 4, 5, 6)]
    assert sorted({p.line for p in unreadable}) == [2, 3, 4, 5, 6] and not report.ok
    assert all("secret" not in str(problem) for problem in report.problems)
