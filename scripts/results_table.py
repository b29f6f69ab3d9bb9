"""Render training/results/*.json (written by scripts/experiment.py) as the markdown tables of models/default.md:

python scripts/results_table.py training/results/curve-*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def cell(value: list[float] | None) -> str:
    if not value:
        return "–"
    point, low, high = value
    return f"{point:.3f} [{low:.3f}, {high:.3f}]"


def table(rows: list[dict[str, Any]], member: str = "model") -> str:
    lines = [
        "| run | train | w | dev barrier / sentiment | test barrier | test sentiment | test cause micro "
        "| OOD barrier | OOD sentiment | OOD cause micro | train s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        test, ood = row["test"].get(member, {}), row["ood"].get(member, {})
        lines.append(
            f"| {row['name']} | {row['train_size']} | {row['companion_weight']:g} "
            f"| {row['dev']['barriers_macro_f1']:.3f} / {row['dev']['sentiment_macro_f1']:.3f} "
            f"| {cell(test.get('barriers_macro_f1'))} | {cell(test.get('sentiment_macro_f1'))} "
            f"| {cell(test.get('causes_micro_f1'))} | {cell(ood.get('barriers_macro_f1'))} "
            f"| {cell(ood.get('sentiment_macro_f1'))} | {cell(ood.get('causes_micro_f1'))} "
            f"| {row['train_seconds']:.0f} |"
        )
    return "\n".join(lines)


def main(paths: list[str]) -> int:
    rows = [json.loads(Path(p).read_text(encoding="utf-8")) for p in paths]
    rows.sort(key=lambda row: (row["fraction"], row["name"]))
    for member in ("model", "encoder_alone", "tfidf_alone"):
        if any(member in row["test"] for row in rows):
            print(f"\n**{member}**\n")
            print(table(rows, member))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
