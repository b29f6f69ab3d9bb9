from __future__ import annotations

import itertools
import random

import pytest

from feedbackml.data.dedup import find_duplicates
from feedbackml.data.records import LabelledRecord
from feedbackml.data.split import split_records
from feedbackml.labels import BARRIERS, SENTIMENTS


def _records(n: int, seed: int = 0) -> list[LabelledRecord]:
    rng = random.Random(seed)
    vocabulary = "审批流程系统部门推诿配合责任不清资源人手态度冷淡越位缺位总部门店采购质量财务"
    records = []
    for i in range(n):
        barriers = tuple(label for label in BARRIERS if rng.random() < 0.35)
        text = "".join(rng.choice(vocabulary) for _ in range(rng.randint(10, 40)))
        records.append(LabelledRecord(f"r{i}", text, barriers, rng.choice(SENTIMENTS)))
    return records


def test_proportions_and_completeness() -> None:
    records = _records(1000)
    parts = split_records(records, seed=1)
    assert sorted(r.id for part in parts.values() for r in part) == sorted(r.id for r in records)
    sizes = {name: len(part) for name, part in parts.items()}
    assert abs(sizes["train"] - 700) <= 15 and abs(sizes["dev"] - 150) <= 15 and abs(sizes["test"] - 150) <= 15
    for label in BARRIERS:
        overall = sum(label in r.barriers for r in records) / len(records)
        for part in parts.values():
            assert abs(sum(label in r.barriers for r in part) / len(part) - overall) < 0.03


def test_seeded_and_reproducible() -> None:
    records = _records(300)
    assert split_records(records, seed=5) == split_records(records, seed=5)
    assert split_records(records, seed=5) != split_records(records, seed=6)


def test_near_duplicates_stay_together() -> None:
    records = _records(200)
    twins = [
        LabelledRecord(f"twin{i}", records[i].text + "啊", records[i].barriers, records[i].sentiment) for i in range(30)
    ]
    parts = split_records([*records, *twins], seed=3)
    where = {r.id: name for name, part in parts.items() for r in part}
    everything = [*records, *twins]
    for pair in find_duplicates([r.text for r in everything]):
        assert where[everything[pair.first].id] == where[everything[pair.second].id]
    for a, b in itertools.combinations(parts.values(), 2):
        texts_a = [r.text for r in a]
        texts_b = [r.text for r in b]
        cross = find_duplicates(texts_a + texts_b)
        assert all(p.first >= len(texts_a) or p.second < len(texts_a) for p in cross)


def test_bad_ratios() -> None:
    with pytest.raises(ValueError, match="summing to 1"):
        split_records(_records(10), (0.5, 0.2, 0.2))
