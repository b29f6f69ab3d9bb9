from __future__ import annotations

from pathlib import Path

import pytest

from feedbackml.data.records import Columns, load_labelled, parse_barriers, parse_record
from feedbackml.io import InputError, Row
from tests.conftest import SAMPLE_RECORDS, write_csv


def _row(**data: object) -> Row:
    return Row("f.jsonl", 7, dict(data))


def test_parse_valid_record_orders_barriers() -> None:
    record, problems = parse_record(
        _row(id="a", text="文本", barriers=["role_misalignment", "subjective"], sentiment="negative"), Columns()
    )
    assert problems == []
    assert record is not None
    assert record.barriers == ("subjective", "role_misalignment")
    assert record.where == "f.jsonl:7"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "x", "barriers": [], "sentiment": "neutral"}, "field 'id' is missing"),
        ({"id": "a", "text": "  ", "barriers": [], "sentiment": "neutral"}, "field 'text' is empty"),
        ({"id": "a", "text": 5, "barriers": [], "sentiment": "neutral"}, "field 'text' holds a int"),
        ({"id": "a", "text": "x", "barriers": ["subjectiv"], "sentiment": "neutral"}, "unknown label 'subjectiv'"),
        ({"id": "a", "text": "x", "barriers": "objective", "sentiment": "angry"}, "field 'sentiment' is 'angry'"),
        ({"id": "a", "text": "x", "barriers": 3, "sentiment": "neutral"}, "field 'barriers' holds a int"),
        ({"id": "a", "text": "x", "sentiment": "neutral"}, "field 'barriers' is missing"),
    ],
)
def test_parse_errors_name_field_and_expectation(data: dict[str, object], message: str) -> None:
    record, problems = parse_record(_row(**data), Columns())
    assert record is None
    assert any(message in p.message and "expected" in p.message for p in problems), problems
    assert all(str(p).startswith("f.jsonl:7: error: ") for p in problems)


def test_messages_never_contain_the_text() -> None:
    comment = "这是一条绝对不能出现在错误信息里的评论"
    _, problems = parse_record(_row(id="a", text=comment, barriers=["nope"], sentiment="bad"), Columns())
    assert problems and all(comment not in str(p) for p in problems)


def test_flat_barriers() -> None:
    assert parse_barriers("objective|subjective", "b") == (("subjective", "objective"), None)
    assert parse_barriers("", "b") == ((), None)
    labels, error = parse_barriers("objective|objective", "b")
    assert labels is None and error and "twice" in error


def test_csv_with_mapped_columns(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("编号,评论内容,障碍,情感\n1,审批太慢,objective,negative\n", encoding="utf-8")
    columns = Columns(id="编号", text="评论内容", barriers="障碍", sentiment="情感")
    (record,) = load_labelled([path], columns)
    assert (record.id, record.text, record.barriers, record.sentiment) == ("1", "审批太慢", ("objective",), "negative")


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", SAMPLE_RECORDS)
    with pytest.raises(InputError, match=r"missing column '评论内容'.*--text-col.*'id', 'text'"):
        load_labelled([path], Columns(text="评论内容"))


def test_roundtrip_to_json(jsonl_file) -> None:  # type: ignore[no-untyped-def]
    records = load_labelled([jsonl_file()])
    assert [record.to_json() for record in records] == SAMPLE_RECORDS


def test_causes_are_parsed_ordered_and_checked_against_barriers() -> None:
    record, problems = parse_record(
        _row(
            id="a",
            text="文本",
            barriers=["objective", "subjective"],
            causes=["process", "unwilling", "systems_info"],
            about=["财务部", " "],
            sentiment="negative",
            slice="barrier_boundary",
        ),
        Columns(),
    )
    assert problems == [] and record is not None
    assert record.causes == ("unwilling", "process", "systems_info")  # labels.md order
    assert record.about == ("财务部",) and record.slice == "barrier_boundary"
    assert record.to_json()["causes"] == ["unwilling", "process", "systems_info"]
    unlabelled, _ = parse_record(_row(id="b", text="文本", barriers=["objective"], sentiment="neutral"), Columns())
    assert unlabelled is not None and unlabelled.causes is None and "causes" not in unlabelled.to_json()


@pytest.mark.parametrize(
    ("barriers", "causes", "message"),
    [
        (["objective"], ["unwilling"], "cause 'unwilling' of barrier 'subjective', which the record lacks"),
        (["objective", "subjective"], ["process"], "no cause for barrier 'subjective'"),
        (["objective"], ["process", "bogus"], "unknown label 'bogus'"),
        ([], ["process"], "which the record lacks"),
        (["objective"], 3, "holds a int"),
    ],
)
def test_bad_causes_name_the_field_and_the_rule(barriers: list[str], causes: object, message: str) -> None:
    record, problems = parse_record(
        _row(id="a", text="不该出现在消息里的原文", barriers=barriers, causes=causes, sentiment="negative"), Columns()
    )
    assert record is None and len(problems) == 1
    assert "field 'causes'" in problems[0].message and message in problems[0].message
    assert "原文" not in problems[0].message


def test_labels_written_in_chinese_are_mapped_to_codes() -> None:
    data = {
        "id": "c1",
        "text": "采购那边总说与我无关,审批还要签五个字",
        "barriers": "主观障碍|客观",
        "causes": "不愿配合/推诿|流程与审批",
        "sentiment": "负面",
    }
    record, problems = parse_record(Row("x.csv", 2, data), Columns())
    assert not problems and record is not None
    assert (record.barriers, record.causes, record.sentiment) == (
        ("subjective", "objective"),
        ("unwilling", "process"),
        "negative",
    )
    _, wrong = parse_record(Row("x.csv", 3, {**data, "barriers": "主观问题"}), Columns())
    assert "unknown label '主观问题'" in wrong[0].message and "or their Chinese names" in wrong[0].message
