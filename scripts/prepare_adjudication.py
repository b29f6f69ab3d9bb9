"""Pair a writer batch (pass A) with its blind relabelling (pass B) and list the records that disagree on
barriers, causes or sentiment, each with both labellings shown as x/y in a seeded random order, for an
adjudicator who must not know which labelling is the writer's.

    python scripts/prepare_adjudication.py data/incoming/hn.jsonl data/incoming/pass_b/hn.jsonl \
        --out /tmp/adjudicate/hn.jsonl --key /tmp/adjudicate/hn.key.json

``--key`` keeps which of x/y was pass A, so decisions can be counted per side afterwards.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

FIELDS = ("barriers", "causes", "about", "sentiment")


def read(path: Path) -> dict[str, dict]:
    return {row["id"]: row for row in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if row}


def labels(row: dict) -> dict:
    return {field: sorted(row.get(field) or []) if field != "sentiment" else row["sentiment"] for field in FIELDS}


def differs(a: dict, b: dict) -> bool:
    return any(labels(a)[field] != labels(b)[field] for field in ("barriers", "causes", "sentiment"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pass_a", type=Path)
    parser.add_argument("pass_b", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    first, second = read(args.pass_a), read(args.pass_b)
    missing = sorted(set(first) - set(second))
    rng = random.Random(args.seed)
    key, rows = {}, []
    for record_id, a in first.items():
        if record_id not in second or not differs(a, second[record_id]):
            continue
        a_is_x = rng.random() < 0.5
        x, y = (a, second[record_id]) if a_is_x else (second[record_id], a)
        key[record_id] = "a" if a_is_x else "b"
        rows.append({"id": record_id, "text": a["text"], "x": labels(x), "y": labels(y)})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    args.key.write_text(json.dumps(key, indent=1), encoding="utf-8")
    print(f"{len(rows)} of {len(first)} records disagree; {len(missing)} not yet in pass B")


if __name__ == "__main__":
    main()
