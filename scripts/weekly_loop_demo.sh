#!/usr/bin/env bash
# The README's weekly labelling loop, end to end, on 200 comments, in a scratch folder (nothing in the repository
# changes). A script stands in for the person who labels: it writes the corpus's own labels into the export.
#
# So that the loop has something to learn, 600 training comments are held out of the "current" model and play
# this week's survey; the 200 the model is least sure of are labelled and added. TF-IDF models keep it to about
# a minute (KIND=encoder runs the same commands with the encoder, about 30 minutes on 2 cores).
#
#   bash scripts/weekly_loop_demo.sh [SCRATCH_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${BIN:-$ROOT/.venv/bin}"
KIND="${KIND:-tfidf}"
WORK="${1:-$(mktemp -d)}"
mkdir -p "$WORK" && cd "$WORK"
echo "working in $WORK"

# this week's survey: 600 comments the current model has not seen (no labels in the export)
"$BIN/python" - "$ROOT" <<'PY'
import csv, json, random, sys
root = sys.argv[1]
rows = [json.loads(line) for line in open(f"{root}/data/labelled/train.jsonl", encoding="utf-8")]
random.Random(49).shuffle(rows)
with open("known.jsonl", "w", encoding="utf-8") as handle:
    handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[600:])
with open("gold_of_the_week.jsonl", "w", encoding="utf-8") as handle:  # what the stand-in labeller knows
    handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[:600])
with open("survey.csv", "w", encoding="utf-8", newline="") as handle:
    writer = csv.writer(handle)
    writer.writerow(["response_id", "department", "comment"])
    writer.writerows([r["id"], r.get("department") or "", r["text"]] for r in rows[:600])
PY
DEV="$ROOT/data/labelled/dev.jsonl"
TEST="$ROOT/data/labelled/test.jsonl"
"$BIN/feedbackml" train --kind "$KIND" "data.train=known.jsonl" "data.dev=$DEV" --out models/current

# 1. score the week's export
"$BIN/feedbackml" score survey.csv --out scored.csv --model models/current --text-col comment --id-col response_id \
    --group-col department
# 2. export the 200 comments the model is least sure of, with its labels as pre-annotations
"$BIN/feedbackml" review export scored.csv --out tasks.json --format label-studio --top 200 --text-col comment \
    --id-col response_id --group-col department
# 3. (a person labels them in Label Studio and exports JSON; here a script writes the answers in)
"$BIN/python" "$ROOT/scripts/answer_tasks.py" tasks.json --gold gold_of_the_week.jsonl
# 4. import the labels into the corpus schema, and validate them beside the corpus
"$BIN/feedbackml" review import tasks.json --out week49.jsonl
"$BIN/feedbackml" data validate known.jsonl week49.jsonl "$DEV"
# 5. train a candidate on the corpus plus this week's labels, 6. compare it with the current model on test
"$BIN/feedbackml" train --kind "$KIND" "data.train=[known.jsonl, week49.jsonl]" "data.dev=$DEV" --out models/candidate
"$BIN/feedbackml" compare --model models/current --model models/candidate --data "$TEST" --resamples 1000
# 7. if B is better: put it where the service reads and reload (POST /v1/admin/reload with an admin key)
echo "to ship: mv models/candidate <FEEDBACKML_MODEL_DIR> and POST /v1/admin/reload"
