"""``feedbackml data split``: a seeded, multi-label-stratified train/dev/test split with no leak between parts.

Near-duplicate comments and the two records of a contrastive pair are grouped first (union-find over
``find_duplicates`` and the ``pair`` field) and a group always lands in one part. Groups are then placed by
iterative stratification (Sechidis, Tsoumakas & Vlahavas, 2011): the rarest label is placed first, each group
going to the part that still wants that label most, so every barrier, the "no barrier" case, every cause, every
slice and every sentiment keep their proportions in every part.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from feedbackml.data.dedup import DEFAULT_THRESHOLD, find_duplicates
from feedbackml.data.records import LabelledRecord

SPLIT_NAMES = ("train", "dev", "test")
DEFAULT_RATIOS = (0.70, 0.15, 0.15)
_NO_BARRIER = "(no barrier)"


def stratification_labels(record: LabelledRecord) -> set[str]:
    labels = {f"barrier:{label}" for label in record.barriers} or {_NO_BARRIER}
    labels |= {f"cause:{code}" for code in record.causes or ()}
    if record.slice:
        labels.add(f"slice:{record.slice}")
    return labels | {f"sentiment:{record.sentiment}"}


def duplicate_groups(
    texts: Sequence[str], threshold: float = DEFAULT_THRESHOLD, linked: Sequence[tuple[int, int]] = ()
) -> list[list[int]]:
    """Indices grouped so that any two duplicates (exact or near), and any two ``linked`` indices (the two
    records of a contrastive pair), share a group; groups in first-index order."""
    parent = list(range(len(texts)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    edges = [(pair.first, pair.second) for pair in find_duplicates(texts, threshold)]
    for first, second in [*edges, *linked]:
        a, b = root(first), root(second)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for index in range(len(texts)):
        groups.setdefault(root(index), []).append(index)
    return list(groups.values())


def split_records(
    records: Sequence[LabelledRecord],
    ratios: Sequence[float] = DEFAULT_RATIOS,
    *,
    seed: int = 13,
    near_duplicate_threshold: float = DEFAULT_THRESHOLD,
    names: Sequence[str] = SPLIT_NAMES,
) -> dict[str, list[LabelledRecord]]:
    """Split records into named parts with the given ratios; deterministic for a seed."""
    if len(ratios) != len(names) or any(r < 0 for r in ratios) or abs(sum(ratios) - 1) > 1e-6:
        raise ValueError(f"ratios must be {len(names)} non-negative numbers summing to 1, got {list(ratios)}")
    rng = random.Random(seed)
    position = {record.id: index for index, record in enumerate(records)}
    pairs = [(index, position[r.pair]) for index, r in enumerate(records) if r.pair and r.pair in position]
    groups = duplicate_groups([record.text for record in records], near_duplicate_threshold, pairs)
    group_labels = [set().union(*(stratification_labels(records[i]) for i in group)) for group in groups]

    label_totals: dict[str, float] = {}
    for group, labels in zip(groups, group_labels, strict=True):
        for label in labels:
            label_totals[label] = label_totals.get(label, 0) + len(group)
    wanted = [{label: total * ratio for label, total in label_totals.items()} for ratio in ratios]
    wanted_size = [len(records) * ratio for ratio in ratios]

    remaining = list(range(len(groups)))
    rng.shuffle(remaining)
    assignment: dict[int, int] = {}
    while remaining:
        counts: dict[str, int] = {}
        for g in remaining:
            for label in group_labels[g]:
                counts[label] = counts.get(label, 0) + 1
        rarest = min(counts, key=lambda label: (counts[label], label))
        still_remaining = []
        for g in remaining:
            if rarest not in group_labels[g]:
                still_remaining.append(g)
                continue
            best = max(range(len(ratios)), key=lambda s: (wanted[s][rarest], wanted_size[s], -s))
            assignment[g] = best
            for label in group_labels[g]:
                wanted[best][label] -= len(groups[g])
            wanted_size[best] -= len(groups[g])
        remaining = still_remaining

    parts: dict[str, list[int]] = {name: [] for name in names}
    for g, part in assignment.items():
        parts[names[part]].extend(groups[g])
    return {name: [records[i] for i in sorted(indices)] for name, indices in parts.items()}
