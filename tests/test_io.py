from __future__ import annotations

import os
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from feedbackml.io import (
    InputError,
    atomic_path,
    iter_rows,
    read_header,
    spreadsheet_safe,
    sweep_temporaries,
    write_jsonl,
)
from tests.conftest import SAMPLE_RECORDS, write_csv


def test_jsonl_rows_and_problems(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        b'{"id": "a", "text": "ok"}\n\n{"id": "b", "text": \n["not", "an", "object"]\n{"id": "c", "text": "\xff\xfe"}\n'
    )
    rows = list(iter_rows(path))
    assert [row.line for row in rows] == [1, 3, 4, 5]
    assert rows[0].data == {"id": "a", "text": "ok"}
    assert "not valid JSON" in (rows[1].problem or "")
    assert "expected a JSON object" in (rows[2].problem or "")
    assert "not valid UTF-8" in (rows[3].problem or "")


def test_csv_multiline_field_reports_start_line(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text('id,text\n1,"第一行\n第二行"\n2,短\n', encoding="utf-8")
    rows = list(iter_rows(path))
    assert [(row.line, row.data) for row in rows] == [
        (2, {"id": "1", "text": "第一行\n第二行"}),
        (4, {"id": "2", "text": "短"}),
    ]


def test_csv_gbk_gets_a_hint(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "gbk.csv", SAMPLE_RECORDS[:2], encoding="gb18030")
    rows = list(iter_rows(path))
    assert all(row.data is None and "gb18030" in (row.problem or "") for row in rows)
    decoded = list(iter_rows(path, encoding="gb18030"))
    assert decoded[0].data is not None and decoded[0].data["text"] == SAMPLE_RECORDS[0]["text"]


def test_csv_ragged_row(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("id,text\n1,a,b\n", encoding="utf-8")
    (row,) = iter_rows(path)
    assert row.data is None and "has 3 fields (expected 2" in (row.problem or "")


def test_xlsx_with_title_row_and_merged_header(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["2026年员工满意度调查"])
    sheet.merge_cells("A1:C1")
    sheet.append(["编号", "部门", "评论内容"])
    sheet.append([1, "生产部", "审批太慢"])
    sheet.append([None, None, None])
    sheet.append([2.0, "IT", "系统老崩"])
    path = tmp_path / "survey.xlsx"
    workbook.save(path)

    with pytest.raises(
        InputError, match=r"survey.xlsx:1: header names 1 column\(s\) but the rows below use 3.*--header-row"
    ):
        list(iter_rows(path))
    rows = list(iter_rows(path, header_row=2))
    assert [(row.line, row.data) for row in rows] == [
        (3, {"编号": "1", "部门": "生产部", "评论内容": "审批太慢"}),
        (5, {"编号": "2", "部门": "IT", "评论内容": "系统老崩"}),
    ]
    assert read_header(path, header_row=2) == ["编号", "部门", "评论内容"]


def test_xlsx_dates_read_as_the_sheet_shows_them(tmp_path: Path) -> None:
    """A date cell is a day (openpyxl hands it over as midnight); a timestamp keeps its time."""
    import datetime as dt

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["id", "wave", "sent", "text"])
    sheet.append([1, dt.date(2024, 12, 31), dt.datetime(2024, 12, 31, 9, 30), "审批太慢"])
    path = tmp_path / "survey.xlsx"
    workbook.save(path)
    (row,) = iter_rows(path)
    assert row.data == {"id": "1", "wave": "2024-12-31", "sent": "2024-12-31T09:30:00", "text": "审批太慢"}


def test_parquet_streams_rows(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["一", "二"]}), path)
    rows = list(iter_rows(path))
    assert [(row.line, row.data) for row in rows] == [(1, {"id": "a", "text": "一"}), (2, {"id": "b", "text": "二"})]
    assert read_header(path) == ["id", "text"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"x", "unsupported file type '.txt'"),
        ("missing.jsonl", None, "no such file"),
        ("broken.xlsx", b"not a zip", "not a readable .xlsx"),
        ("broken.parquet", b"nope", "not a readable Parquet"),
        ("empty.csv", b"", "is empty"),
    ],
)
def test_unreadable_files_raise_input_error(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        list(iter_rows(path))
    assert str(caught.value).startswith(str(path))


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    write_jsonl(target, [{"a": 1}])

    def failing():
        yield {"a": 2}
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        write_jsonl(target, failing())
    assert target.read_text(encoding="utf-8") == '{"a": 1}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_atomic_path_creates_parent(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "file.txt"
    with atomic_path(target) as temporary:
        temporary.write_text("x", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "x"


def hostile_jsonl(path: Path) -> Path:
    """Good lines around each line that used to abort a run: a lone surrogate escape, arrays nested 100,000 deep
    (RecursionError), arrays nested past the depth limit, a 5,000-digit integer, a surrogate in a key."""
    lines = [
        '{"id": "a", "text": "审批太慢"}',
        '{"id": "b", "text": "secret \\ud800 words"}',
        '{"id": "c", "text": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"id": "d", "text": "ok", "meta": ' + "[" * 200 + "]" * 200 + "}",
        '{"id": "e", "text": "IT工单没人理", "n": ' + "7" * 5000 + "}",
        '{"id": "f", "\\udfff": "secret"}',
        '{"id": "g", "text": "笑死 \\ud83d\\ude00"}',  # an escaped surrogate *pair* is one valid character
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_hostile_jsonl_lines_become_row_problems(tmp_path: Path) -> None:
    rows = list(iter_rows(hostile_jsonl(tmp_path / "hostile.jsonl")))  # used to raise RecursionError/ValueError
    assert [row.line for row in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert rows[0].data == {"id": "a", "text": "审批太慢"} and rows[6].data == {"id": "g", "text": "笑死 😀"}
    problems = {row.line: row.problem or "" for row in rows if row.data is None}
    assert set(problems) == {2, 3, 4, 5, 6}
    assert "lone surrogate escape" in problems[2] and "field 'text'" in problems[2]
    assert "too deeply" in problems[3] and "more than 64 levels" in problems[4]
    assert "more than 4,300 digits" in problems[5] and "lone surrogate" in problems[6]
    for problem in problems.values():
        assert "(expected" in problem and "secret" not in problem and "777" not in problem


def test_spreadsheet_safe_quotes_formulas_not_numbers() -> None:
    for formula in ("=1+1", '=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "-"):
        assert spreadsheet_safe(formula) == "'" + formula
    for plain in ("审批太慢", "-3.5", "+7", "1e-05", "a=b", " =1", ""):
        assert spreadsheet_safe(plain) == plain


def test_sweep_temporaries_removes_only_those_of_the_destination(tmp_path: Path) -> None:
    target = tmp_path / "scored.csv"
    (tmp_path / ".scored.csv.ab12cd_3.tmp").write_text("every comment", encoding="utf-8")
    (tmp_path / ".scored.csv.partial.zz99zz99.tmp").mkdir()
    kept = [tmp_path / ".scored.csv.csv.ab12cd_3.tmp", tmp_path / ".other.csv.ab12cd_3.tmp", tmp_path / "x.tmp"]
    for path in kept:
        path.write_text("", encoding="utf-8")
    assert sweep_temporaries(target) == 1 and sweep_temporaries(tmp_path / "scored.csv.partial") == 1
    assert sorted(tmp_path.iterdir()) == sorted(kept)


@pytest.mark.parametrize(("umask", "file_mode", "folder_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_outputs_honour_the_umask(tmp_path: Path, umask: int, file_mode: int, folder_mode: int) -> None:
    """A team shares scored files, reports and models: outputs get the modes the user's umask gives, not the
    0600/0700 of the temporary files they are written through."""
    from feedbackml.artifacts import publishing
    from feedbackml.io import atomic_path, current_umask

    previous = os.umask(umask)
    try:
        assert current_umask() == umask
        with atomic_path(tmp_path / "scored.csv") as temporary:
            temporary.write_text("a\n", encoding="utf-8")
        with publishing(tmp_path / "report") as staging:
            (staging / "report.html").write_text("<p>", encoding="utf-8")
    finally:
        os.umask(previous)
    assert (tmp_path / "scored.csv").stat().st_mode & 0o777 == file_mode
    assert (tmp_path / "report").stat().st_mode & 0o777 == folder_mode


def test_sniff_encoding_tells_gb18030_from_utf8_with_a_stray_byte(tmp_path: Path) -> None:
    from feedbackml.io import sniff_encoding

    text = "编号,评论\n1,采购那边总说与我无关\n2,报销流程太长了\n" * 50
    (tmp_path / "gb.csv").write_bytes(text.encode("gb18030"))
    (tmp_path / "utf8.csv").write_bytes(text.encode("utf-8"))
    (tmp_path / "stray.csv").write_bytes(text.encode("utf-8") + b"3,\xff\xfe broken\n")
    (tmp_path / "ascii.csv").write_bytes(b"id,text\n1,ok\n")
    assert sniff_encoding(tmp_path / "gb.csv") == "gb18030"
    assert sniff_encoding(tmp_path / "utf8.csv") == "utf-8"
    assert sniff_encoding(tmp_path / "stray.csv") == "utf-8"  # one bad byte is a bad row, not another encoding
    assert sniff_encoding(tmp_path / "ascii.csv") == "utf-8"
    rows = list(iter_rows(tmp_path / "gb.csv", encoding="auto"))
    assert rows[0].data == {"编号": "1", "评论": "采购那边总说与我无关"}
