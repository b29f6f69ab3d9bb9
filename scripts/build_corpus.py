"""Build corpus v2 from its sources, reproducibly: every writer batch (pass A), its blind relabelling (pass B) and
the adjudication of their disagreements, plus the 3,266 earlier records (v1, frozen in data/incoming/v1) with
their causes (pass A), their blind relabelling and its adjudication.

    python scripts/build_corpus.py            # writes data/labelled/*.jsonl, data/ood/test.jsonl, data/agreement/v2/

Final labels of a record: the adjudicated decision where the two passes disagreed on barriers, causes or
sentiment, else the labels both passes gave (``about`` from pass A). The earlier records keep their split (the old
test split stays the test split, for continuity); new records are split 70/15/15 with near-duplicates and
contrastive pairs kept together, then any new record that is a near-duplicate of a record in another split is moved
to that split. The OOD batch (``oo``) goes to data/ood/test.jsonl and into no other file.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

from feedbackml.data.dedup import find_duplicates
from feedbackml.data.records import Columns, LabelledRecord, parse_record
from feedbackml.data.split import split_records
from feedbackml.io import Row

ROOT = Path(__file__).resolve().parent.parent
INCOMING = ROOT / "data" / "incoming"
LABELLED = ROOT / "data" / "labelled"
OOD = ROOT / "data" / "ood"
AGREEMENT = ROOT / "data" / "agreement" / "v2"
NEW_BATCHES = ("hn", "hx", "sb", "sh", "bb", "cp", "gn")
OOD_BATCH = "oo"
SPLITS = ("train", "dev", "test")
DROP_FIRST = ("dev", "test", "train")  # which copy of a cross-split duplicate of earlier records goes
LABEL_FIELDS = ("barriers", "causes", "about", "sentiment")
KEEP_FIELDS = ("id", "text", "source", "department", "slice", "pair")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (sorted(row.get("barriers") or []), sorted(row.get("causes") or []), row["sentiment"])


def decisions(batch: str) -> dict[str, dict[str, Any]]:
    """Adjudicated labels by id, from every adjudication file of a batch (a batch may be split in parts)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((INCOMING / "adjudication").glob(f"{batch}*.jsonl")):
        for row in read_jsonl(path):
            found[row["id"]] = row
    return found


def resolve(pass_a: list[dict[str, Any]], pass_b: list[dict[str, Any]], batch: str) -> tuple[list[dict], dict]:
    """Final records of a batch and the counts that describe how they were reached."""
    second = {row["id"]: row for row in pass_b}
    decided = decisions(batch)
    final, counts = [], Counter()
    for row in pass_a:
        other = second.get(row["id"])
        if other is None:
            counts["missing_pass_b"] += 1
            continue
        record = {field: row[field] for field in KEEP_FIELDS if row.get(field) not in (None, "")}
        if key(row) == key(other):
            labels = {field: row.get(field) or [] for field in LABEL_FIELDS[:-1]} | {"sentiment": row["sentiment"]}
            counts["agreed"] += 1
        elif row["id"] in decided:
            labels = {field: decided[row["id"]][field] for field in LABEL_FIELDS}
            counts["adjudicated"] += 1
        else:
            counts["undecided"] += 1
            continue
        record.update(labels)
        final.append(record)
    return final, dict(counts)


def parse(rows: list[dict[str, Any]], where: str) -> list[LabelledRecord]:
    """The records as the library reads them; any schema problem stops the build, naming the record."""
    records = []
    for line, row in enumerate(rows, start=1):
        record, problems = parse_record(Row(where, line, row), Columns())
        if problems:
            raise SystemExit(f"{where}: {row.get('id')}: {problems[0].message}")
        records.append(record)
    return records


def earlier_records() -> tuple[dict[str, dict], list[dict], list[dict]]:
    """The earlier corpus (v1, frozen in data/incoming/v1) by split, pass A (its adjudicated labels with the
    causes annotators' causes, about and audits) and the blind pass B."""
    gold = {split: read_jsonl(INCOMING / "v1" / f"{split}.jsonl") for split in SPLITS}
    causes = {row["id"]: row for n in (1, 2) for row in read_jsonl(INCOMING / f"existing_causes_{n}.jsonl")}
    pass_a, pass_b = [], []
    split_of = {}
    for split, rows in gold.items():
        for row in rows:
            split_of[row["id"]] = split
            extra = causes[row["id"]]
            audited = extra.get("audit") or {}
            pass_a.append(
                {
                    **row,
                    "barriers": audited.get("barriers", row["barriers"]),
                    "sentiment": audited.get("sentiment", row["sentiment"]),
                    "causes": extra["causes"],
                    "about": extra.get("about", []),
                }
            )
    for n in (1, 2):
        pass_b.extend(read_jsonl(INCOMING / "pass_b" / f"existing_{n}.jsonl"))
    return {"split_of": split_of, "gold": {row["id"]: row for rows in gold.values() for row in rows}}, pass_a, pass_b


def with_text(labels: list[dict[str, Any]], texts: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """A labelling pass as full records (text and metadata from the writer), for `feedbackml data agreement`."""
    return [
        {**{f: texts[r["id"]][f] for f in KEEP_FIELDS if texts[r["id"]].get(f)}, **r}
        for r in labels
        if r["id"] in texts
    ]


def main() -> None:
    global LABELLED, OOD, AGREEMENT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data", help="where labelled/, ood/, agreement/v2/ go")
    out = parser.parse_args().out
    LABELLED, OOD, AGREEMENT = out / "labelled", out / "ood", out / "agreement" / "v2"
    summary: dict[str, Any] = {}
    # earlier records: labels resolved, split kept
    meta, pass_a, pass_b = earlier_records()
    final_old, summary["earlier"] = resolve(pass_a, pass_b, "existing")
    by_id_old = meta["gold"]
    changed = Counter()
    for row in final_old:
        before = by_id_old[row["id"]]
        changed["barriers"] += sorted(before["barriers"]) != sorted(row["barriers"])
        changed["sentiment"] += before["sentiment"] != row["sentiment"]
        changed["records"] += (sorted(before["barriers"]), before["sentiment"]) != (
            sorted(row["barriers"]),
            row["sentiment"],
        )
    summary["earlier"]["audit_changed"] = dict(changed)
    write_jsonl(AGREEMENT / "existing.pass_a.jsonl", pass_a)
    texts = {row["id"]: row for row in pass_a}
    write_jsonl(AGREEMENT / "existing.pass_b.jsonl", with_text(pass_b, texts))

    # new batches
    new_rows: list[dict[str, Any]] = []
    for batch in (*NEW_BATCHES, OOD_BATCH):
        writer_path = INCOMING / f"{batch}.jsonl"
        blind_paths = sorted((INCOMING / "pass_b").glob(f"{batch}*.jsonl"))  # a batch may be relabelled in parts
        if not writer_path.is_file() or not blind_paths:
            summary[batch] = "not ready (no pass B yet)"
            continue
        first, second = read_jsonl(writer_path), [row for path in blind_paths for row in read_jsonl(path)]
        final, summary[batch] = resolve(first, second, batch)
        write_jsonl(AGREEMENT / f"{batch}.pass_a.jsonl", first)
        write_jsonl(AGREEMENT / f"{batch}.pass_b.jsonl", with_text(second, {r["id"]: r for r in first}))
        if batch == OOD_BATCH:
            write_jsonl(OOD / "test.jsonl", [{**r, "slice": "ood"} for r in final])
        else:
            new_rows.extend(final)
    parse(new_rows, "new records")
    old_records = parse(final_old, "earlier records")

    # split the new records, then pull any new near-duplicate of an earlier record into that record's split;
    # a new record with exactly the text of an earlier one is dropped (one text, one labelling)
    parts = split_records(parse(new_rows, "new records"), seed=13)
    split_of = {record.id: split for split, records in parts.items() for record in records}
    split_of |= {record.id: meta["split_of"][record.id] for record in old_records}
    everything = [*old_records, *(r for records in parts.values() for r in records)]
    moved, dropped = 0, []
    for pair in find_duplicates([record.text for record in everything]):
        a, b = everything[pair.first], everything[pair.second]
        if a.id in meta["split_of"] and b.id in meta["split_of"]:
            # two earlier records that normalisation v2 (traditional → simplified) made one text: keep the copy
            # in train, or else in test (continuity), and drop the other from its evaluation split
            if a.id in split_of and b.id in split_of and split_of[a.id] != split_of[b.id]:
                loser = min((a, b), key=lambda record: DROP_FIRST.index(split_of[record.id]))
                del split_of[loser.id]
                dropped.append(loser.id)
            continue
        new_one = b if b.id not in meta["split_of"] else a
        anchor = a if new_one is b else b
        if pair.exact and new_one.id in split_of:
            del split_of[new_one.id]
            dropped.append(new_one.id)
        elif new_one.id in split_of and split_of[new_one.id] != split_of.get(anchor.id):
            split_of[new_one.id] = split_of[anchor.id]
            if new_one.pair and new_one.pair in split_of:
                split_of[new_one.pair] = split_of[anchor.id]
            moved += 1
    summary["moved_to_follow_a_duplicate"] = moved
    summary["dropped_exact_duplicates"] = dropped
    # the OOD set shares no text, exact or near, with the labelled corpus
    ood = read_jsonl(OOD / "test.jsonl") if (OOD / "test.jsonl").is_file() else []
    kept_texts = [record.text for record in everything if record.id in split_of]
    leaking = {
        pair.second - len(kept_texts)
        for pair in find_duplicates([*kept_texts, *(row["text"] for row in ood)])
        if pair.first < len(kept_texts) <= pair.second
    }
    summary["ood_dropped_as_duplicates"] = sorted(ood[i]["id"] for i in leaking)
    write_jsonl(OOD / "test.jsonl", [row for i, row in enumerate(ood) if i not in leaking])
    rows_by_id = {row["id"]: row for row in [*final_old, *new_rows]}
    for split in SPLITS:
        # a seeded shuffle: any first-n rows of a split (quick experiments, the test suite) mix every slice
        ids = sorted(i for i, s in split_of.items() if s == split)
        random.Random(13).shuffle(ids)
        write_jsonl(LABELLED / f"{split}.jsonl", [rows_by_id[i] for i in ids])
    summary["splits"] = {split: sum(1 for s in split_of.values() if s == split) for split in SPLITS}
    write_jsonl(AGREEMENT / "build_summary.jsonl", [summary])
    print(json.dumps(summary, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
