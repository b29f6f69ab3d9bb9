from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from feedbackml.io import InputError, iter_rows
from feedbackml.labels import CAUSES
from feedbackml.model import load_model
from feedbackml.scoring import ADDED_COLUMNS, LocalEngine, ScoreOptions, make_engine, partial_folder, score
from feedbackml.scoring.checkpoint import write_chunks
from feedbackml.scoring.engines import score_texts
from tests.conftest import LABELLED

PHONE = "13912345678"


def _survey(path: Path, rows: int = 40) -> Path:
    """A survey export: id, department, wave, comment — with a blank comment, a ragged line and a phone number."""
    texts = [json.loads(line)["text"] for line in (LABELLED / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rid", "department", "wave", "comment"])
        for number in range(rows):
            text = texts[number]
            if number == 3:
                text = ""
            if number == 5:
                text = f"有事打我电话{PHONE},采购那边一直拖着不回"
            writer.writerow([f"r{number}", f"部门{number % 3}", f"2026Q{number % 2 + 1}", text])
        handle.write('r-bad,"部门1",2026Q1,"too",many,fields\r\n')
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def model(tiny_model: Path):  # type: ignore[no-untyped-def]
    # torch, not the folder's default: int8 dynamic quantization scales activations per batch, so a comment's
    # probabilities move in the 4th decimal with its batch-mates, and this file compares rows with single predictions
    return load_model(tiny_model, runtime="torch")


class _InterruptedError(Exception):
    """What a kill looks like to the run: it stops between chunks and leaves its checkpoint."""


@dataclass
class _KilledAfter(LocalEngine):
    """The local engine, interrupted once it has written ``chunks`` new chunks."""

    chunks: int = 1

    def write_chunks(self, run):  # type: ignore[no-untyped-def]
        written: list[int] = []

        def predict(index: int, texts: list[str], evidence_for: list[bool]):  # type: ignore[no-untyped-def]
            if len(written) == self.chunks:
                raise _InterruptedError
            written.append(index)
            return score_texts(self.model, texts, evidence_for)  # type: ignore[arg-type]

        return write_chunks(run, predict)


def _options(tmp_path: Path, tiny_model: Path, source: Path, name: str = "scored.csv", **kw: object) -> ScoreOptions:
    return ScoreOptions(input=source, output=tmp_path / name, model=tiny_model, text_col="comment", chunk_rows=8, **kw)  # type: ignore[arg-type]


def test_score_keeps_every_column_and_row_in_order(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    source = _survey(tmp_path / "survey.csv")
    before = _digest(source)
    summary = score(_options(tmp_path, tiny_model, source), engine=LocalEngine(model))
    assert _digest(source) == before  # the input is never modified
    rows = [row.data for row in iter_rows(tmp_path / "scored.csv")]
    assert len(rows) == 41 and summary.rows == 41 and summary.ok == 39 and summary.empty == 1 and summary.errors == 1
    assert list(rows[0]) == ["rid", "department", "wave", "comment", *ADDED_COLUMNS]
    assert [row["rid"] for row in rows[:40]] == [f"r{n}" for n in range(40)]  # input order
    assert rows[3]["status"] == "empty" and rows[3]["barriers"] == "" and rows[3]["p_subjective"] == ""
    bad = rows[40]
    assert bad["status"].startswith("error: row 42 has 6 fields") and bad["source_line"] == "42"
    first = rows[0]
    assert first["status"] == "ok" and first["model_version"] == model.version
    expected = model.predict(first["comment"], evidence=True)
    assert first["barriers"] == "|".join(expected.barriers)
    assert first["causes"] == "|".join(expected.causes) and (first["causes"] != "") == bool(expected.barriers)
    assert float(first["p_objective"]) == expected.barrier_probs["objective"]
    assert expected.cause_probs and {float(first[f"p_{c}"]) for c in CAUSES} == set(expected.cause_probs.values())
    assert first["sentiment"] == expected.sentiment and first["needs_review"] in ("true", "false")
    for item in json.loads(first["evidence"]):
        assert first["comment"][item["start"] : item["end"]] == item["word"]
    assert PHONE in rows[5]["comment"]  # not redacted unless asked
    assert not partial_folder(tmp_path / "scored.csv").exists()


def test_redact_masks_personal_data_in_the_output(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    source = _survey(tmp_path / "survey.csv", rows=8)
    score(_options(tmp_path, tiny_model, source, redact=True), engine=LocalEngine(model))
    text = (tmp_path / "scored.csv").read_text(encoding="utf-8-sig")
    assert PHONE not in text and "[手机号]" in text


@pytest.mark.parametrize("name", ["scored.csv", "scored.jsonl", "scored.parquet"])
def test_resumed_run_is_byte_identical(tmp_path: Path, tiny_model: Path, model, name: str) -> None:  # type: ignore[no-untyped-def]
    source = _survey(tmp_path / "survey.csv")
    whole = _options(tmp_path / "whole", tiny_model, source, name)
    score(whole, engine=LocalEngine(model))
    interrupted = _options(tmp_path / "resumed", tiny_model, source, name)
    with pytest.raises(_InterruptedError):
        score(interrupted, engine=_KilledAfter(model, chunks=2))
    assert not interrupted.output.exists() and len(list(partial_folder(interrupted.output).glob("chunk-*"))) == 2
    resumed = score(interrupted, engine=LocalEngine(model))
    assert resumed.resumed_chunks == 2 and resumed.rows == 41
    assert _digest(interrupted.output) == _digest(whole.output)


def test_resuming_with_other_threads_is_refused(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    source = _survey(tmp_path / "survey.csv")
    with pytest.raises(_InterruptedError):
        score(_options(tmp_path, tiny_model, source, threads=1), engine=_KilledAfter(model, chunks=1))
    with pytest.raises(InputError, match="checkpoint of a different run"):
        score(_options(tmp_path, tiny_model, source, threads=2), engine=LocalEngine(model))
    resumed = score(_options(tmp_path, tiny_model, source, threads=1), engine=LocalEngine(model))
    assert resumed.resumed_chunks == 1 and resumed.rows == 41


def test_checkpoint_of_another_run_is_refused_then_restarted(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    source = _survey(tmp_path / "survey.csv")
    with pytest.raises(_InterruptedError):
        score(_options(tmp_path, tiny_model, source), engine=_KilledAfter(model, chunks=1))
    changed = _options(tmp_path, tiny_model, source, evidence=False)
    with pytest.raises(InputError, match="checkpoint of a different run"):
        score(changed, engine=LocalEngine(model))
    summary = score(changed, engine=LocalEngine(model), restart=True)
    assert summary.resumed_chunks == 0 and changed.output.exists()


def test_parquet_output_keeps_input_types(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = tmp_path / "survey.parquet"
    pq.write_table(
        pa.table({"n": [1, 2, 3], "comment": ["审批太慢", None, "IT工单没人理"], "score": [3.5, 4.0, None]}), source
    )
    score(_options(tmp_path, tiny_model, source, "out.parquet"), engine=LocalEngine(model))
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.schema.field("n").type == pa.int64() and table.schema.field("score").type == pa.float64()
    assert table.column("status").to_pylist() == ["ok", "empty", "ok"]
    assert table.column("needs_review").type == pa.bool_()


def test_a_header_name_with_an_invisible_character_is_shown_escaped(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    """A header cell 'comment' + a zero-width space must not look like the 'comment' asked for (blanks such as
    NBSP are stripped from header names already)."""
    source = tmp_path / "survey.csv"
    source.write_text("id,comment\u200b,dept\u00a0\n1,审批太慢,IT\n", encoding="utf-8")
    with pytest.raises(InputError) as raised:
        score(_options(tmp_path, tiny_model, source), engine=LocalEngine(model))
    assert str(raised.value).endswith(
        "has no column 'comment' (--text-col; the file has: 'id', 'comment\\u200b', 'dept')"
    )


def test_clear_errors_for_bad_inputs(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    source = _survey(tmp_path / "survey.csv", rows=4)
    with pytest.raises(InputError, match=r"survey.csv: has no column 'text' \(--text-col"):
        score(ScoreOptions(input=source, output=tmp_path / "o.csv", model=tiny_model), engine=LocalEngine(model))
    with pytest.raises(InputError, match="has no column 'dept'"):
        score(_options(tmp_path, tiny_model, source, group_col="dept"), engine=LocalEngine(model))
    with pytest.raises(
        InputError, match=r"cannot write '\.xls' output \(expected \.csv, \.tsv, \.jsonl, \.parquet or \.xlsx\)"
    ):
        score(_options(tmp_path, tiny_model, source, "o.xls"), engine=LocalEngine(model))
    with pytest.raises(InputError, match="is the input file"):
        score(_options(tmp_path, tiny_model, source, "survey.csv"), engine=LocalEngine(model))
    scored = tmp_path / "scored.csv"
    score(_options(tmp_path, tiny_model, source), engine=LocalEngine(model))
    with pytest.raises(InputError, match="already has column"):
        score(_options(tmp_path, tiny_model, scored, "again.csv"), engine=LocalEngine(model))


def test_gb18030_rows_read_as_utf8_get_row_errors_not_a_crash(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "gbk.csv"
    source.write_bytes(b"comment\n" + "审批流程太长\n".encode("gb18030") + "工单没人理\n".encode())
    summary = score(_options(tmp_path, tiny_model, source), engine=LocalEngine(model))
    rows = [row.data for row in iter_rows(tmp_path / "scored.csv")]
    assert summary.errors == 1 and rows[0]["status"].startswith("error: row 2 is not valid utf-8")
    assert "gb18030" in rows[0]["status"] and rows[1]["status"] == "ok"
    score(_options(tmp_path, tiny_model, source, "fixed.csv", encoding="gb18030"), engine=LocalEngine(model))
    assert next(iter_rows(tmp_path / "fixed.csv")).data["status"] == "ok"  # type: ignore[index]


@pytest.mark.slow
# Ray Data (2.60) copies its own deprecated context fields on every dataset; the warnings are not ours.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_ray_engine_equals_local_engine_row_for_row(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    ray = pytest.importorskip("ray")
    source = _survey(tmp_path / "survey.csv", rows=30)
    local = _options(tmp_path / "local", tiny_model, source, "scored.jsonl", runtime="torch")
    score(local, engine=LocalEngine(model))
    distributed = _options(tmp_path / "ray", tiny_model, source, "scored.jsonl", runtime="torch")
    try:
        summary = score(
            distributed, engine=make_engine("ray", workers=2)
        )  # as the CLI runs it: the driver never loads the model
    finally:
        ray.shutdown()
    assert summary.rows == 31 and summary.chunks == 4
    assert distributed.output.read_bytes() == local.output.read_bytes()


def test_evidence_sample_explains_a_fixed_share_of_rows(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    source = _survey(tmp_path / "survey.csv", rows=40)
    full = _options(tmp_path / "full", tiny_model, source)
    sampled = _options(tmp_path / "sampled", tiny_model, source, evidence_sample=0.3)
    score(full, engine=LocalEngine(model))
    score(sampled, engine=LocalEngine(model))
    full_rows = [row.data for row in iter_rows(full.output)]
    sampled_rows = [row.data for row in iter_rows(sampled.output)]
    chosen = [sampled.wants_evidence(int(row["source_line"])) for row in sampled_rows]  # type: ignore[index]
    assert 0 < sum(chosen) < len(chosen)
    for wanted, whole, part in zip(chosen, full_rows, sampled_rows, strict=True):
        assert part["barriers"] == whole["barriers"] and part["sentiment"] == whole["sentiment"]  # type: ignore[index]
        if not wanted:
            assert part["evidence"] == "[]"  # type: ignore[index]
    assert any(row["evidence"] != "[]" for row in sampled_rows)  # type: ignore[index]


def _jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_bad_jsonl_lines_are_error_rows_and_every_other_line_scores(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    from tests.test_io import hostile_jsonl

    source = hostile_jsonl(tmp_path / "hostile.jsonl")
    options = ScoreOptions(input=source, output=tmp_path / "scored.csv", model=tiny_model, chunk_rows=3)
    summary = score(options, engine=LocalEngine(model))  # used to abort with RecursionError / ValueError
    rows = [row.data for row in iter_rows(options.output)]
    assert summary.rows == 7 and summary.ok == 2 and summary.errors == 5
    statuses = {int(row["source_line"]): row["status"] for row in rows}  # type: ignore[index]
    assert statuses[1] == statuses[7] == "ok"
    for line in (2, 3, 4, 5, 6):
        assert statuses[line].startswith(f"error: row {line} ") and "(expected" in statuses[line]
    assert "secret" not in options.output.read_text(encoding="utf-8-sig")  # bad lines are never echoed
    assert [row["id"] for row in rows] == ["a", "", "", "", "", "", "g"]  # type: ignore[index]


@pytest.mark.parametrize("name", ["scored.csv", "scored.parquet", "scored.jsonl"])
def test_jsonl_keys_first_seen_after_line_1_are_kept(tmp_path: Path, tiny_model: Path, model, name: str) -> None:  # type: ignore[no-untyped-def]
    texts = ["审批太慢", "IT工单没人理", "领导不听意见", "食堂不错", "加班太多", "流程很乱"]
    records: list[dict[str, object]] = [{"id": f"r{n}", "text": text} for n, text in enumerate(texts)]
    records[2]["dept"] = "销售部"  # first seen in the second chunk
    records[5] = {"wave": "2026Q2", **records[5], "dept": "IT"}  # first seen in the last chunk
    source = _jsonl(tmp_path / "late.jsonl", records)
    options = ScoreOptions(input=source, output=tmp_path / "out" / name, model=tiny_model, chunk_rows=2)
    with pytest.raises(_InterruptedError):  # and resumed: the columns must not depend on where a run stopped
        score(options, engine=_KilledAfter(model, chunks=1))
    score(options, engine=LocalEngine(model))
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        table = pq.read_table(options.output)
        columns, got = table.column_names, table.to_pylist()
    else:
        got = [row.data for row in iter_rows(options.output)]  # type: ignore[misc]
        columns = list(got[0])  # type: ignore[arg-type]
    if not name.endswith(".jsonl"):
        assert columns == ["id", "text", "dept", "wave", *ADDED_COLUMNS]  # the union, in first-seen order
    assert [row.get("dept") or None for row in got] == [None, None, "销售部", None, None, "IT"]
    assert got[5]["wave"] == "2026Q2" and all(row["status"] == "ok" for row in got)


def test_formula_cells_are_neutralised_in_csv_unless_raw_cells(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    import openpyxl

    cells = ['=HYPERLINK("http://evil.example","点我")', "+1+1", "-2+3", "@SUM(A1)", "\t=1+1"]  # (xlsx turns CR to LF)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for values in (["=cmd", "score", "comment"], *([cell, "-3.5", cell] for cell in cells)):
        sheet.append(values)
        for column in (1, 3):
            sheet.cell(row=sheet.max_row, column=column).data_type = "s"  # *text* cells, as an export writes them
    workbook.save(tmp_path / "survey.xlsx")
    for name, raw in (("scored.csv", False), ("scored.tsv", False), ("raw.csv", True)):
        options = _options(tmp_path, tiny_model, tmp_path / "survey.xlsx", name, raw_cells=raw)
        score(options, engine=LocalEngine(model))
        with options.output.open(encoding="utf-8-sig", newline="") as handle:
            table = list(csv.reader(handle, delimiter="\t" if name.endswith(".tsv") else ","))
        assert table[0][0] == ("=cmd" if raw else "'=cmd")
        for row, cell in zip(table[1:], cells, strict=True):
            assert row[0] == row[2] == (cell if raw else "'" + cell)
            assert row[1] == "-3.5"  # a plain number is no formula
    assert json.loads(next(iter_rows(tmp_path / "scored.csv")).data["evidence"]) is not None  # type: ignore[index]
    # an Excel output: the same columns and rows as the CSV, typed numbers, formulas neutralised the same way
    options = _options(tmp_path, tiny_model, tmp_path / "survey.xlsx", "scored.xlsx")
    score(options, engine=LocalEngine(model))
    book = openpyxl.load_workbook(options.output, read_only=True)
    assert book.sheetnames == ["评分结果 scored"]
    rows = [list(row) for row in book.active.iter_rows(values_only=True)]
    book.close()
    as_csv = [row.data for row in iter_rows(tmp_path / "scored.csv")]
    assert rows[0] == ["'=cmd", *list(as_csv[0])[1:]] and len(rows) == len(as_csv) + 1
    for row, cell in zip(rows[1:], cells, strict=True):
        assert row[0] == row[2] == "'" + cell and row[1] == "-3.5"
    assert [isinstance(row[rows[0].index("p_objective")], float) for row in rows[1:]] == [True] * len(cells)


def test_checkpoint_left_without_state_resumes(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    """A kill between creating OUT.partial/ and writing its state (older versions) or between staging the new
    checkpoint and renaming it, or during assembly: the same command runs, and sweeps what the kill left."""
    source = _survey(tmp_path / "survey.csv", rows=8)
    options = _options(tmp_path, tiny_model, source)
    partial_folder(options.output).mkdir()  # the folder, no state
    (tmp_path / ".scored.csv.partial.k1lled00.tmp").mkdir()  # a staged checkpoint never renamed
    (tmp_path / ".scored.csv.k1lled00.tmp").write_text("every comment", encoding="utf-8")  # a killed assembly
    summary = score(options, engine=LocalEngine(model))
    assert summary.rows == 9 and summary.resumed_chunks == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["scored.csv", "survey.csv"]


def test_a_second_run_on_the_same_output_is_refused_and_leaves_no_orphan(
    tmp_path: Path, tiny_model: Path, model
) -> None:  # type: ignore[no-untyped-def]
    from feedbackml.io import OutputError

    source = _survey(tmp_path / "survey.csv", rows=16)
    options = _options(tmp_path, tiny_model, source)
    refused: list[str] = []

    @dataclass
    class _Concurrent(LocalEngine):
        """Starts a second run on the same output while the first is writing its chunks."""

        def write_chunks(self, run):  # type: ignore[no-untyped-def]
            with pytest.raises(OutputError, match="being written by another score run") as caught:
                score(options, engine=LocalEngine(model))
            refused.append(str(caught.value))
            return super().write_chunks(run)

    summary = score(options, engine=_Concurrent(model))
    assert refused and summary.rows == 17 and summary.resumed_chunks == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["scored.csv", "survey.csv"]  # no .partial, no lock
    assert score(options, engine=LocalEngine(model)).rows == 17  # and the next run is not blocked


def test_same_size_edit_with_restored_mtime_is_not_resumed(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    import os

    source = _survey(tmp_path / "survey.csv")
    with pytest.raises(_InterruptedError):
        score(_options(tmp_path, tiny_model, source), engine=_KilledAfter(model, chunks=2))
    stat = source.stat()
    content = source.read_bytes()
    source.write_bytes(content.replace("部门1".encode(), "部门2".encode()))  # same size, other rows
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert source.stat().st_size == stat.st_size and source.stat().st_mtime_ns == stat.st_mtime_ns
    with pytest.raises(InputError, match="checkpoint of a different run"):
        score(_options(tmp_path, tiny_model, source), engine=LocalEngine(model))


def _about_survey(path: Path) -> Path:
    """Comments naming other departments, each with the writer's own department."""
    rows = [
        ("a0", "采购部", "采购说要财务先批,财务说要采购先比价"),
        ("a1", "研发部", ""),
        ("a2", "IT部", "IT说这不归他们管,HR又说要找财务"),
        ("a3", "研发部", f"@采购部小王 一直不回,电话{PHONE}也不接"),  # redaction would mask the department
        ("a4", "研发部", "今年市场行情不好"),
    ]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rid", "department", "comment"])
        writer.writerows(rows)
    return path


def _about_column(path: Path) -> dict[str, str]:
    return {row.data["rid"]: row.data["about"] for row in iter_rows(path) if row.data}


def test_about_column_excludes_the_writers_own_department(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    source = _about_survey(tmp_path / "survey.csv")
    score(_options(tmp_path, tiny_model, source, "plain.csv", evidence=False), engine=LocalEngine(model))
    assert _about_column(tmp_path / "plain.csv") == {
        "a0": "采购部|财务部",  # joined like barriers and causes
        "a1": "",  # empty rows have no about
        "a2": "IT部|人力资源部|财务部",
        "a3": "采购部",
        "a4": "",
    }
    own = _options(tmp_path, tiny_model, source, "own.jsonl", evidence=False, group_col="department", redact=True)
    score(own, engine=LocalEngine(model))
    assert _about_column(own.output) == {"a0": "财务部", "a1": "", "a2": "人力资源部|财务部", "a3": "采购部", "a4": ""}
    text = own.output.read_text(encoding="utf-8")
    assert "采购部小王" not in text and PHONE not in text  # detected before redaction, output still redacted


def _org_file(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


def test_org_file_names_the_departments(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    source = _about_survey(tmp_path / "survey.csv")
    org = _org_file(tmp_path / "org.csv", "name,aliases\n供应链管理中心,采购|采购部\n数科部,IT|信息部\n")
    options = _options(tmp_path, tiny_model, source, evidence=False, org=org, group_col="department")
    score(options, engine=LocalEngine(model))
    about = _about_column(options.output)
    assert about["a0"] == "财务部"  # the writer's 采购部 is 供应链管理中心 too, so it is excluded
    assert about["a2"] == "人力资源部|财务部" and about["a3"] == "供应链管理中心"
    score(_options(tmp_path, tiny_model, source, "b.csv", evidence=False, org=org), engine=LocalEngine(model))
    assert _about_column(tmp_path / "b.csv")["a2"] == "数科部|人力资源部|财务部"


def test_bad_org_file_stops_before_any_work(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    source = _about_survey(tmp_path / "survey.csv")
    org = _org_file(tmp_path / "org.csv", "name,aliases\n采购部,采购\n,财务\n")
    with pytest.raises(ValueError, match=r"org\.csv:3: field 'name' is empty"):
        score(_options(tmp_path, tiny_model, source, org=org), engine=LocalEngine(model))
    assert not partial_folder(tmp_path / "scored.csv").exists() and not (tmp_path / "scored.csv").exists()


def test_a_changed_org_file_refuses_the_resume_then_restarts(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    source = _survey(tmp_path / "survey.csv")
    org = _org_file(tmp_path / "org.csv", "name,aliases\n供应链管理中心,采购\n")
    options = _options(tmp_path, tiny_model, source, evidence=False, org=org)
    with pytest.raises(_InterruptedError):
        score(options, engine=_KilledAfter(model, chunks=1))
    _org_file(org, "name,aliases\n采购与物流部,采购\n")  # same path, other departments
    with pytest.raises(InputError, match="checkpoint of a different run"):
        score(options, engine=LocalEngine(model))
    with pytest.raises(InputError, match="checkpoint of a different run"):
        score(_options(tmp_path, tiny_model, source, evidence=False), engine=LocalEngine(model))  # nor without one
    summary = score(options, engine=LocalEngine(model), restart=True)
    assert summary.resumed_chunks == 0
    assert _about_column(options.output)["r5"] == "采购与物流部"  # row 5 names 采购; no chunk of the first org left


def test_the_same_org_content_resumes(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    source = _survey(tmp_path / "survey.csv")
    org = _org_file(tmp_path / "org.csv", "name,aliases\n供应链管理中心,采购\n")
    options = _options(tmp_path, tiny_model, source, evidence=False, org=org)
    with pytest.raises(_InterruptedError):
        score(options, engine=_KilledAfter(model, chunks=1))
    moved = _org_file(tmp_path / "moved.csv", org.read_text(encoding="utf-8"))  # the content counts, not the path
    summary = score(_options(tmp_path, tiny_model, source, evidence=False, org=moved), engine=LocalEngine(model))
    assert summary.resumed_chunks == 1 and _about_column(options.output)["r5"] == "供应链管理中心"


def test_a_notes_sheet_first_points_to_the_sheet_with_the_column(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["本表为2025年内部客户满意度调查导出"])
    details = book.create_sheet("明细")
    details.append(["rid", "comment"])
    details.append(["r1", "审批太慢"])
    book.save(tmp_path / "export.xlsx")
    options = _options(tmp_path, tiny_model, tmp_path / "export.xlsx")
    with pytest.raises(InputError, match=r"has no column 'comment' .*sheet '明细' has it: add --sheet '明细'"):
        score(options, engine=LocalEngine(model))
    summary = score(_options(tmp_path, tiny_model, tmp_path / "export.xlsx", sheet="明细"), engine=LocalEngine(model))
    assert summary.ok == 1


@pytest.mark.slow
def test_worker_processes_write_the_bytes_one_process_writes(tmp_path: Path, tiny_model: Path, model) -> None:  # type: ignore[no-untyped-def]
    source = _survey(tmp_path / "survey.csv", rows=40)
    one = _options(tmp_path / "one", tiny_model, source, "scored.csv", evidence_sample=0.3)
    score(one, engine=make_engine("local"))
    two = _options(tmp_path / "two", tiny_model, source, "scored.csv", evidence_sample=0.3)
    summary = score(two, engine=make_engine("local", workers=2))
    assert summary.rows == 41 and summary.chunks == 6
    assert two.output.read_bytes() == one.output.read_bytes()
