"""Quotable comments: bounded pools, no sentence twice (near-duplicates included), no small department named."""

from __future__ import annotations

from feedbackml.report.samples import Pool, Sample, offer, quote


def test_near_duplicates_are_quoted_once_and_distinct_comments_all() -> None:
    texts = [
        "报销流程太慢了，三个月都没批下来",
        "报销流程太慢了!!三个月都没批下来。",  # punctuation only
        "报销流程太慢了，三个月都没有批下来",  # one character more: a near-duplicate
        "IT系统天天卡，工单没人回",
    ]
    candidates = [(1.0 - i / 10, Sample(1.0, i, text), ("A", "")) for i, text in enumerate(texts)]
    quoted = [item["text"] for item in quote(candidates, limit=5, max_chars=100)]
    assert quoted == [texts[0], texts[3]]


def test_a_pool_keeps_the_best_and_never_the_same_text_twice() -> None:
    pool: Pool = []
    for line, (rank, text) in enumerate([(0.2, "甲"), (0.9, "乙"), (0.5, "丙"), (0.95, "乙。"), (0.7, "丁")]):
        offer(pool, rank, line, text, limit=3)
    assert sorted(sample.text for _, _, sample in pool) == ["丁", "丙", "乙"]


def test_a_department_too_small_to_show_is_never_quoted() -> None:
    candidates = [
        (0.9, Sample(0.9, 1, "法务那边合同压了一个月"), ("A", "")),
        (0.5, Sample(0.5, 2, "流程太长"), ("A", "")),
    ]
    assert [item["text"] for item in quote(candidates, 5, 100, frozenset({"法务部"}))] == ["流程太长"]  # by alias too
