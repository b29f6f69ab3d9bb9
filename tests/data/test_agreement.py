from __future__ import annotations

import pytest

from feedbackml.data.agreement import cohen_kappa, compare_passes, format_agreement
from feedbackml.data.records import LabelledRecord


def test_kappa_known_values() -> None:
    # Classic example: 50 items, observed agreement 0.7, chance 0.5 → kappa 0.4
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(first, second) == pytest.approx(0.4)
    assert cohen_kappa(["a", "b", "a"], ["a", "b", "a"]) == 1.0
    assert cohen_kappa(["a", "a"], ["a", "a"]) == 1.0
    assert cohen_kappa(["a", "b"], ["b", "a"]) == pytest.approx(-1.0)


def test_kappa_matches_sklearn_formula_on_three_classes() -> None:
    first = ["neg", "neg", "neu", "pos", "pos", "neg", "neu", "pos"]
    second = ["neg", "neu", "neu", "pos", "neg", "neg", "neu", "pos"]
    # p_o = 6/8; p_e = (3*3 + 2*3 + 3*2)/64 = 21/64
    assert cohen_kappa(first, second) == pytest.approx((6 / 8 - 21 / 64) / (1 - 21 / 64))


def test_compare_passes_lists_disagreements() -> None:
    a = [
        LabelledRecord("1", "t1", ("subjective",), "negative"),
        LabelledRecord("2", "t2", (), "positive"),
        LabelledRecord("3", "t3", ("objective",), "neutral"),
    ]
    b = [
        LabelledRecord("1", "t1", ("subjective", "objective"), "negative"),
        LabelledRecord("2", "t2", (), "neutral"),
        LabelledRecord("4", "t4", (), "neutral"),
    ]
    report = compare_passes(a, b)
    assert report.n == 2
    assert report.only_first == ["3"] and report.only_second == ["4"]
    assert [(d.id, d.field) for d in report.disagreements] == [("1", "barriers"), ("2", "sentiment")]
    text = format_agreement(report, "a.jsonl", "b.jsonl")
    assert "kappa" in text and "1  barriers" in text


def test_no_overlap_is_an_error() -> None:
    with pytest.raises(ValueError, match="share no record id"):
        compare_passes([LabelledRecord("1", "t", (), "neutral")], [LabelledRecord("2", "t", (), "neutral")])


def test_cause_kappa_is_over_records_where_both_give_the_barrier() -> None:

    def record(rid: str, barriers: tuple[str, ...], causes: tuple[str, ...]) -> LabelledRecord:
        return LabelledRecord(rid, "文本", barriers, "negative", causes=causes)

    first = [
        record("a", ("objective",), ("process",)),
        record("b", ("objective",), ("systems_info",)),
        record("c", ("objective",), ("process",)),
        record("d", ("subjective",), ("unwilling",)),
    ]
    second = [
        record("a", ("objective",), ("process",)),
        record("b", ("objective",), ("process",)),
        record("c", ("objective",), ("process", "resources")),
        record("d", (), ()),  # no barrier in pass two: d says nothing about subjective's causes
    ]
    report = compare_passes(first, second)
    assert report.support["cause:process"] == 3 and report.observed["cause:process"] == pytest.approx(2 / 3, abs=1e-4)
    assert "cause:unwilling" not in report.kappa  # no record where both passes gave 'subjective'
    assert any(d.field == "causes" and d.id == "b" for d in report.disagreements)
