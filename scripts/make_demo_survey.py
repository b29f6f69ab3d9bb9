"""Write a demo survey export (CSV) for ``make demo``: the hand-written comments of data/labelled/, drawn with
replacement into a survey of N rows with department, wave and question columns, the way an HR system exports it.

It is a demo input, not training data: comments repeat, and the departments and waves are assigned by this
script (department names are the ones ``about`` detects, so writers and targets line up on the internal-customer
map). Three things are planted so the report has something to show: the IT department's own comments about
systems/processes get rarer in the last wave (as if a tool were fixed); in the last wave 销售部 writes far more
negative comments about IT部 (the pair the map must flag); and 法务部 has only 4 respondents, so the report must
suppress it everywhere. A few rows are blank, as real exports have.

    python scripts/make_demo_survey.py --rows 20000 --out demo/survey_20k.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

from feedbackml.about import detect_about

ROOT = Path(__file__).resolve().parents[1]
DEPARTMENTS = {  # department: share of respondents
    "研发部": 0.22,
    "销售部": 0.18,
    "生产部": 0.16,
    "客服部": 0.12,
    "IT部": 0.10,
    "采购部": 0.08,
    "财务部": 0.07,
    "人力资源部": 0.07,
}
SMALL_DEPARTMENT, SMALL_SIZE = "法务部", 4
WAVES = ["2025Q3", "2025Q4", "2026Q1", "2026Q2"]
QUESTIONS = ["跨部门协作中最大的障碍是什么?", "对内部支持部门的意见和建议", "其他想说的话"]
PLANTED_PAIR = ("销售部", "IT部")  # writer, target: negative comments about the target jump in the last wave
PLANTED_SHARE = 0.35  # of that writer's last-wave comments drawn from negative comments naming the target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=ROOT / "demo" / "survey_20k.csv")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    corpus = [
        json.loads(line)
        for split in ("train", "dev", "test")
        for line in (ROOT / "data" / "labelled" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    without_objective = [record for record in corpus if "objective" not in record["barriers"]]
    writer, target = PLANTED_PAIR
    about_target = [
        record
        for record in corpus
        if record["sentiment"] == "negative" and target in detect_about(record["text"], writer)
    ]
    names, weights = list(DEPARTMENTS), list(DEPARTMENTS.values())
    rows = []
    for index in range(args.rows - SMALL_SIZE):
        department = rng.choices(names, weights)[0]
        wave = WAVES[index * len(WAVES) // args.rows]
        pool = without_objective if department == "IT部" and wave == WAVES[-1] and rng.random() < 0.6 else corpus
        if (department, wave) == (writer, WAVES[-1]) and rng.random() < PLANTED_SHARE:
            pool = about_target
        record = rng.choice(pool)
        text = "" if rng.random() < 0.01 else record["text"]  # respondents who skipped the question
        rows.append([department, wave, rng.choice(QUESTIONS), text])
    for _ in range(SMALL_SIZE):
        rows.append([SMALL_DEPARTMENT, rng.choice(WAVES), QUESTIONS[0], rng.choice(corpus)["text"]])
    rng.shuffle(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_name(args.out.name + ".tmp")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["response_id", "department", "wave", "question", "comment"])
        for number, row in enumerate(rows, start=1):
            writer.writerow([f"R{number:06d}", *row])
    temporary.replace(args.out)
    print(f"wrote {len(rows):,} rows to {args.out}")


if __name__ == "__main__":
    main()
