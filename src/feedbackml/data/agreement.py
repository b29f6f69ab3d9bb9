"""``feedbackml data agreement``: how far two independent labelling passes agree (Cohen's kappa).

Inter-annotator agreement is the ceiling a model can be judged against: a model that agrees with the gold
labels as often as a second careful annotator does has learned what the data can teach.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from feedbackml.data.records import LabelledRecord
from feedbackml.labels import BARRIER_OF_CAUSE, BARRIERS, CAUSES


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float:
    """Cohen's kappa of two label sequences (scikit-learn); 1.0 when both passes use one identical label
    throughout, where scikit-learn's formula divides by zero."""
    from sklearn.metrics import cohen_kappa_score

    if len(first) != len(second):
        raise ValueError("both passes must label the same items")
    if not first:
        raise ValueError("no items to compare")
    if len(set(first) | set(second)) == 1:
        return 1.0
    encoded = {label: index for index, label in enumerate(dict.fromkeys([*first, *second]))}
    return float(cohen_kappa_score([encoded[a] for a in first], [encoded[b] for b in second]))


@dataclass(frozen=True)
class Disagreement:
    id: str
    field: str
    first: Any
    second: Any


@dataclass
class AgreementReport:
    n: int
    kappa: dict[str, float]
    observed: dict[str, float]
    support: dict[str, int] = field(default_factory=dict)  # records each figure is computed over
    disagreements: list[Disagreement] = field(default_factory=list)
    only_first: list[str] = field(default_factory=list)
    only_second: list[str] = field(default_factory=list)
    text_mismatch: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "kappa": self.kappa,
            "observed_agreement": self.observed,
            "support": self.support,
            "disagreements": [vars(d) for d in self.disagreements],
            "only_in_first": self.only_first,
            "only_in_second": self.only_second,
            "text_mismatch": self.text_mismatch,
        }


def compare_passes(first: Sequence[LabelledRecord], second: Sequence[LabelledRecord]) -> AgreementReport:
    """Kappa per barrier (present/absent), for "any barrier", for the exact barrier set and for sentiment,
    over the ids both passes labelled."""
    second_by_id = {record.id: record for record in second}
    first_ids = {record.id for record in first}
    pairs = [(record, second_by_id[record.id]) for record in first if record.id in second_by_id]
    if not pairs:
        raise ValueError("the two passes share no record id")

    fields: dict[str, tuple[list[Hashable], list[Hashable]]] = {}
    for label in BARRIERS:
        fields[label] = ([label in a.barriers for a, _ in pairs], [label in b.barriers for _, b in pairs])
    fields["any_barrier"] = ([bool(a.barriers) for a, _ in pairs], [bool(b.barriers) for _, b in pairs])
    fields["barrier_set"] = ([a.barriers for a, _ in pairs], [b.barriers for _, b in pairs])
    fields["sentiment"] = ([a.sentiment for a, _ in pairs], [b.sentiment for _, b in pairs])
    # A cause is judged only where both passes gave its barrier and both labelled causes (labels.md §3).
    for code in CAUSES:
        barrier = BARRIER_OF_CAUSE[code]
        both = [
            (a, b)
            for a, b in pairs
            if barrier in a.barriers and barrier in b.barriers and a.causes is not None and b.causes is not None
        ]
        if both:
            fields[f"cause:{code}"] = ([code in a.causes for a, _ in both], [code in b.causes for _, b in both])  # type: ignore[operator]

    report = AgreementReport(
        n=len(pairs),
        kappa={name: round(cohen_kappa(*values), 4) for name, values in fields.items()},
        observed={
            name: round(sum(x == y for x, y in zip(*values, strict=True)) / len(values[0]), 4)
            for name, values in fields.items()
        },
        support={name: len(values[0]) for name, values in fields.items()},
        only_first=sorted(first_ids - second_by_id.keys()),
        only_second=sorted(second_by_id.keys() - first_ids),
        text_mismatch=[a.id for a, b in pairs if a.text.strip() != b.text.strip()],
    )
    for a, b in pairs:
        if a.causes is not None and b.causes is not None and a.causes != b.causes:
            report.disagreements.append(Disagreement(a.id, "causes", list(a.causes), list(b.causes)))
        if a.barriers != b.barriers:
            report.disagreements.append(Disagreement(a.id, "barriers", list(a.barriers), list(b.barriers)))
        if a.sentiment != b.sentiment:
            report.disagreements.append(Disagreement(a.id, "sentiment", a.sentiment, b.sentiment))
    return report


def format_agreement(report: AgreementReport, first_name: str, second_name: str) -> str:
    lines = [
        f"{report.n} records labelled in both {first_name} and {second_name}",
        "",
        f"{'field':<26}{'kappa':>8}{'agree':>8}{'n':>7}",
    ]
    for name, kappa in report.kappa.items():
        lines.append(f"{name:<26}{kappa:>8.3f}{report.observed[name]:>8.1%}{report.support.get(name, report.n):>7}")
    if report.disagreements:
        lines += ["", f"{len(report.disagreements)} disagreements (id, field, {first_name} → {second_name}):"]
        for item in report.disagreements:
            lines.append(f"  {item.id}  {item.field}: {item.first} → {item.second}")
    for what, ids in (
        ("only in the first file", report.only_first),
        ("only in the second file", report.only_second),
        ("with different text in the two files", report.text_mismatch),
    ):
        if ids:
            lines.append(f"warning: {len(ids)} ids {what}: {', '.join(ids[:10])}{' …' if len(ids) > 10 else ''}")
    return "\n".join(lines)
