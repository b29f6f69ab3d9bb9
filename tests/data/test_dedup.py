from __future__ import annotations

import random

from feedbackml.data.dedup import dedup_key, find_duplicates, jaccard, shingles


def test_key_ignores_punctuation_case_width_and_emoji() -> None:
    assert dedup_key("审批太慢！！！😅") == dedup_key("审批太慢!") == "审批太慢"
    assert dedup_key("ＫＰＩ  不合理") == dedup_key("kpi不合理")


def test_exact_and_near_pairs() -> None:
    texts = [
        "采购部总是推说与我无关,来料问题一律推给质量部处理,我们很被动。",
        "无",
        "采购部总是推说与我无关,来料问题一律推给质量部处理,我们非常被动。",
        "无。",
        "食堂的饭菜最近好吃多了,感谢行政部的同事们。",
    ]
    pairs = {(p.first, p.second): p for p in find_duplicates(texts, threshold=0.8)}
    assert set(pairs) == {(0, 2), (1, 3)}
    assert pairs[(1, 3)].exact
    assert not pairs[(0, 2)].exact and 0.8 <= pairs[(0, 2)].similarity < 1


def test_matches_brute_force_on_random_texts() -> None:
    rng = random.Random(0)
    alphabet = "审批流程系统部门推诿配合责任不清资源人手态度冷淡"
    base = ["".join(rng.choice(alphabet) for _ in range(rng.randint(8, 30))) for _ in range(60)]
    texts = base + [t[:-1] + "好" for t in base[:20]]
    threshold = 0.7
    found = {(p.first, p.second) for p in find_duplicates(texts, threshold)}
    keys = [dedup_key(t) for t in texts]
    expected = set()
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if keys[i] == keys[j] or jaccard(shingles(keys[i]), shingles(keys[j])) >= threshold:
                expected.add((i, j))
    # exact groups are reported against their first member only; near pairs are complete
    assert found <= expected
    assert {pair for pair in expected if keys[pair[0]] != keys[pair[1]]} <= found


def test_deterministic() -> None:
    texts = ["流程太长了审批要走五个节点", "流程太长了审批要走六个节点", "别的话题"]
    assert find_duplicates(texts, 0.5) == find_duplicates(list(texts), 0.5)


def test_emoji_only_texts_are_duplicates_of_each_other() -> None:
    pairs = find_duplicates(["👍👍👍", "好的", "👍👍👍", "👍"])
    assert [(pair.first, pair.second, pair.exact) for pair in pairs] == [(0, 2, True)]
