"""The labelling loop's two ends, against the formats Label Studio and Argilla document (and Argilla's package)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from feedbackml.cli import app
from feedbackml.data.records import load_labelled
from feedbackml.io import InputError
from feedbackml.labels import BARRIERS, CAUSES, SENTIMENTS
from feedbackml.review import export_tasks, import_labels, read_candidates
from feedbackml.scoring import ADDED_COLUMNS
from tests.conftest import REPO, corpus_subset

runner = CliRunner()


def scored_file(folder: Path, records: list[Any], uncertainties: list[float]) -> Path:
    """A scored CSV as `feedbackml score` writes it, predictions taken to be the gold labels."""
    path = folder / "scored.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rid", "dept", "comment", *ADDED_COLUMNS])
        for line, (record, uncertainty) in enumerate(zip(records, uncertainties, strict=True), start=2):
            added = dict.fromkeys(ADDED_COLUMNS, "")
            added.update(
                source_line=line,
                status="ok",
                barriers="|".join(record.barriers),
                causes="|".join(record.causes or ()),
                sentiment=record.sentiment,
                needs_review="false",
                uncertainty=uncertainty,
                evidence="[]",
                model_version="m-1",
                **{f"p_{b}": 0.9 if b in record.barriers else 0.1 for b in BARRIERS},
                **{f"p_{s}": 0.8 if s == record.sentiment else 0.1 for s in SENTIMENTS},
            )
            writer.writerow([record.id, record.department or "", record.text, *added.values()])
        writer.writerow(["empty-1", "", "", *[2 + len(records), "empty"] + [""] * (len(ADDED_COLUMNS) - 2)])
    return path


@pytest.fixture
def gold(tmp_path: Path) -> list[Any]:
    return load_labelled([corpus_subset(tmp_path, "train", 40)])


def test_export_ranks_by_uncertainty_and_skips_unscored_rows(tmp_path: Path, gold: list[Any]) -> None:
    scored = scored_file(tmp_path, gold, [index / 100 for index in range(len(gold))])
    candidates = read_candidates(scored, text_col="comment", id_col="rid")
    assert len(candidates) == len(gold)  # the empty row is not a candidate
    export_tasks(scored, tmp_path / "t.csv", task_format="csv", top=5, text_col="comment", id_col="rid")
    with (tmp_path / "t.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["id"] for row in rows] == [record.id for record in gold[::-1][:5]]
    assert all(row["sentiment"] == "" and row["predicted_sentiment"] in SENTIMENTS for row in rows)


def test_label_studio_tasks_match_their_labelling_config(tmp_path: Path, gold: list[Any]) -> None:
    scored = scored_file(tmp_path, gold, [0.5] * len(gold))
    written = export_tasks(
        scored,
        tmp_path / "tasks.json",
        task_format="label-studio",
        top=40,
        text_col="comment",
        id_col="rid",
        group_col="dept",
    )
    assert [path.name for path in written] == ["tasks.json", "tasks.label-config.xml"]
    config = ET.fromstring(written[1].read_text(encoding="utf-8"))  # noqa: S314 (our own file)
    controls = {c.get("name"): {x.get("value") for x in c.iter("Choice")} for c in config.iter("Choices")}
    assert controls["causes"] == set(CAUSES) and controls["sentiment"] == set(SENTIMENTS)
    text_names = {t.get("name") for t in config.iter("Text")}
    for task in json.loads(written[0].read_text(encoding="utf-8")):
        assert isinstance(task["data"]["text"], str) and task["data"]["feedback_id"]
        (prediction,) = task["predictions"]
        assert prediction["model_version"] == "m-1" and 0 <= prediction["score"] <= 1
        for item in prediction["result"]:  # Label Studio's result shape for a Choices control
            assert item["type"] == "choices" and item["to_name"] in text_names
            assert set(item["value"]["choices"]) <= controls[item["from_name"]]


def test_redact_masks_personal_data_in_the_task_text(tmp_path: Path, gold: list[Any]) -> None:
    import dataclasses

    phoned = [dataclasses.replace(gold[0], text=gold[0].text + "有事打我13812345678")]
    scored = scored_file(tmp_path, phoned, [0.9])
    export_tasks(scored, tmp_path / "t.json", task_format="label-studio", top=1, text_col="comment", redact_text=True)
    text = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))[0]["data"]["text"]
    assert "13812345678" not in text and text.startswith(gold[0].text)


@pytest.mark.parametrize(("kind", "suffix"), [("label-studio", "json"), ("argilla", "json"), ("csv", "csv")])
def test_labels_come_back_as_the_corpus_records(tmp_path: Path, gold: list[Any], kind: str, suffix: str) -> None:
    scored = scored_file(tmp_path, gold, [0.5] * len(gold))
    tasks = tmp_path / f"tasks.{suffix}"
    result = runner.invoke(
        app,
        [
            "review",
            "export",
            str(scored),
            "--out",
            str(tasks),
            "--format",
            kind,
            "--top",
            "30",
            "--text-col",
            "comment",
            "--id-col",
            "rid",
        ],
    )
    assert result.exit_code == 0, result.output
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "answer_tasks.py"),
            str(tasks),
            "--gold",
            str(tmp_path / "train.jsonl"),
        ],
        check=True,
        capture_output=True,
    )
    out = tmp_path / "new.jsonl"
    result = runner.invoke(app, ["review", "import", str(tasks), "--out", str(out)])
    assert result.exit_code == 0, result.output
    back = {record.id: record for record in load_labelled([out])}
    assert len(back) == 30
    for record in gold:
        if record.id in back:
            assert (back[record.id].barriers, back[record.id].causes, back[record.id].sentiment) == (
                record.barriers,
                record.causes,
                record.sentiment,
            )
    again = runner.invoke(app, ["review", "import", str(tasks), "--out", str(out)])
    assert again.exit_code == 1 and "--force" in again.output


def test_argilla_package_reads_the_records_and_writes_the_answers(tmp_path: Path, gold: list[Any]) -> None:
    rg = pytest.importorskip("argilla")
    scored = scored_file(tmp_path, gold[:3], [0.5] * 3)
    export_tasks(scored, tmp_path / "r.json", task_format="argilla", top=3, text_col="comment", id_col="rid")
    labelled = []
    for data in json.loads((tmp_path / "r.json").read_text(encoding="utf-8")):
        record = rg.Record.from_dict(data)
        assert record.suggestions["sentiment"].value in SENTIMENTS and record.suggestions["barriers"].agent == "m-1"
        user = "00000000-0000-0000-0000-000000000007"
        record.responses.add(rg.Response("barriers", ["none"], user_id=user))
        record.responses.add(rg.Response("sentiment", "neutral", user_id=user))
        labelled.append(record.to_dict())
    (tmp_path / "export.json").write_text(json.dumps(labelled, default=str), encoding="utf-8")
    result = import_labels(tmp_path / "export.json", id_prefix="w49-")
    assert not result.problems
    assert [(r.id, r.barriers, r.sentiment) for r in result.records] == [
        (f"w49-{record.id}", (), "neutral") for record in gold[:3]
    ]


def _label_studio_export(path: Path, answers: list[dict[str, Any] | None], text: str = "秘密的评论") -> Path:
    tasks = []
    for number, answer in enumerate(answers, start=1):
        annotations = (
            []
            if answer is None
            else [
                {
                    "id": number,
                    "result": [
                        {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": value}}
                        for name, value in answer.items()
                        if name != "cancel"
                    ],
                    "was_cancelled": bool(answer.get("cancel")),
                }
            ]
        )
        tasks.append({"id": number, "data": {"text": text, "feedback_id": f"f{number}"}, "annotations": annotations})
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def test_import_names_file_and_line_of_every_problem_and_never_the_text(tmp_path: Path) -> None:
    export = _label_studio_export(
        tmp_path / "ls.json",
        [
            {"barriers": ["none"], "sentiment": ["positive"]},  # fine
            {"barriers": ["subjective"], "causes": ["process"], "sentiment": ["negative"]},  # cause of another barrier
            {"barriers": ["none", "objective"], "sentiment": ["neutral"]},  # none beside a barrier
            {"barriers": ["主观障碍"], "causes": ["不愿配合/推诿"], "sentiment": ["负面"]},  # Chinese names: fine
            {"barriers": ["weird"], "sentiment": ["negative"]},  # unknown label
            None,  # nobody labelled it
            {"barriers": ["objective"], "sentiment": ["negative"], "cancel": True},  # skipped in Label Studio
        ],
    )
    result = import_labels(export)
    assert [r.id for r in result.records] == ["f1", "f4"] and result.records[1].causes == ("unwilling",)
    assert result.unlabelled == 2
    starts = [number + 1 for number, line in enumerate(export.read_text().splitlines()) if line == "  {"]
    assert [(p.line, p.path) for p in result.problems] == [(starts[i], str(export)) for i in (1, 2, 4)]
    assert "process" in result.problems[0].message and "weird" in result.problems[2].message
    cli = runner.invoke(app, ["review", "import", str(export), "--out", str(tmp_path / "n.jsonl")])
    assert cli.exit_code == 1 and f"{export}:{starts[1]}: error" in cli.output and "秘密" not in cli.output
    assert not (tmp_path / "n.jsonl").exists()


def test_import_refuses_broken_or_foreign_files_in_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "b.json"
    broken.write_text('[\n {"data": {"text": "x"}},\n {"data": \n', encoding="utf-8")
    with pytest.raises(InputError, match=r"b\.json:4: is not valid JSON"):
        import_labels(broken)
    foreign = tmp_path / "f.json"
    foreign.write_text('[{"other": 1}]', encoding="utf-8")
    result = runner.invoke(app, ["review", "import", str(foreign), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 1 and "neither a Label Studio nor an Argilla export" in result.output
    assert "Traceback" not in result.output


def test_argilla_responses_that_disagree_must_be_adjudicated(tmp_path: Path) -> None:
    records = [
        {
            "id": "a",
            "fields": {"text": "t"},
            "responses": {
                "sentiment": [
                    {"value": "negative", "user_id": "u1", "status": "submitted"},
                    {"value": "neutral", "user_id": "u2", "status": "submitted"},
                ],
                "barriers": [{"value": ["none"]}],
            },
        }
    ]
    (tmp_path / "a.json").write_text(json.dumps(records), encoding="utf-8")
    result = import_labels(tmp_path / "a.json")
    assert not result.records and "disagree" in result.problems[0].message and result.problems[0].line == 1


def test_export_refuses_a_file_that_is_not_scored(tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text("comment\n好\n", encoding="utf-8")
    result = runner.invoke(
        app, ["review", "export", str(plain), "--out", str(tmp_path / "t.json"), "--text-col", "comment"]
    )
    assert result.exit_code == 1 and "has no column 'status'" in result.output
    result = runner.invoke(app, ["review", "export", str(plain), "--out", str(plain), "--format", "xml"])
    assert result.exit_code == 2 and "--format must be one of" in result.output
