"""Stand in for the person who labels: write answers into a `feedbackml review export` file as the tool would.

The answers come from a labelled file with the same texts (for a demonstration of the weekly loop, or a test);
every task whose text is not in it stays unanswered. Label Studio tasks gain an ``annotations`` entry, Argilla
records ``responses``, the CSV its ``barriers``/``causes``/``sentiment`` cells. The file is rewritten whole.

    python scripts/answer_tasks.py tasks.json --gold data/labelled/train.jsonl
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from feedbackml.data.records import load_labelled
from feedbackml.review.imports import detect_format


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", type=Path)
    parser.add_argument("--gold", type=Path, required=True, help="labelled JSONL whose texts the tasks hold")
    args = parser.parse_args()
    gold = {record.text: record for record in load_labelled([args.gold])}
    kind = detect_format(args.tasks)
    answered = 0
    if kind == "csv":
        with args.tasks.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        for row in rows:
            record = gold.get(row["text"])
            if record is not None:
                row["barriers"] = "|".join(record.barriers) or "none"
                row["causes"] = "|".join(record.causes or ())
                row["sentiment"] = record.sentiment
                answered += 1
        with args.tasks.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else [], lineterminator="\r\n")
            writer.writeheader()
            writer.writerows(rows)
    else:
        items = json.loads(args.tasks.read_text(encoding="utf-8"))
        for number, item in enumerate(items, start=1):
            text = item["data"]["text"] if kind == "label-studio" else item["fields"]["text"]
            record = gold.get(text)
            if record is None:
                continue
            answers = {
                "barriers": list(record.barriers) or ["none"],
                "causes": list(record.causes or ()),
                "sentiment": record.sentiment,
            }
            if kind == "label-studio":
                result = [
                    {
                        "from_name": name,
                        "to_name": "text",
                        "type": "choices",
                        "value": {"choices": value if isinstance(value, list) else [value]},
                    }
                    for name, value in answers.items()
                    if value
                ]
                item["id"] = number
                item["annotations"] = [
                    {
                        "id": number,
                        "completed_by": 1,
                        "result": result,
                        "was_cancelled": False,
                        "ground_truth": False,
                        "created_at": "2026-12-04T10:00:00Z",
                        "updated_at": "2026-12-04T10:00:00Z",
                        "lead_time": 12.5,
                    }
                ]
            else:
                item["responses"] = {
                    name: [{"value": value, "user_id": "00000000-0000-0000-0000-000000000001", "status": "submitted"}]
                    for name, value in answers.items()
                    if value
                }
                item["status"] = "completed"
            answered += 1
        args.tasks.write_text(json.dumps(items, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"answered {answered} task(s) in {args.tasks}")


if __name__ == "__main__":
    main()
