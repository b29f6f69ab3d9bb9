"""The corpus as a typed DatasetDict, its export with save_to_disk, and training from a dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from feedbackml.cli import app
from feedbackml.data.records import load_labelled
from feedbackml.io import InputError
from feedbackml.labels import BARRIERS, CAUSES, SENTIMENTS
from tests.conftest import REPO, corpus_subset

datasets = pytest.importorskip("datasets")


def test_the_corpus_loads_typed_and_comes_back_unchanged(tmp_path: Path) -> None:
    from feedbackml.data.hf import load_corpus, records_of

    corpus = load_corpus(root=REPO)
    assert set(corpus) == {"train", "dev", "test", "ood"}
    feature = corpus["train"].features
    assert feature["sentiment"].names == list(SENTIMENTS)
    assert feature["barriers"].feature.names == list(BARRIERS) and feature["causes"].feature.names == list(CAUSES)
    small = load_corpus({"dev": [corpus_subset(tmp_path, "dev", 50)]})["dev"]
    assert records_of(small, "dev") == load_labelled([tmp_path / "dev.jsonl"])


def test_data_export_writes_what_load_from_disk_reads(tmp_path: Path) -> None:
    source = corpus_subset(tmp_path, "train", 30)
    out = tmp_path / "hf"
    result = CliRunner().invoke(app, ["data", "export", str(out), "--split", f"train={source}"])
    assert result.exit_code == 0, result.output
    back = datasets.load_from_disk(str(out))
    assert back["train"].num_rows == 30 and back["train"].features["sentiment"].names == list(SENTIMENTS)
    first = json.loads(source.read_text(encoding="utf-8").splitlines()[0])
    row = back["train"][0]
    assert [BARRIERS[i] for i in row["barriers"]] == first["barriers"] and row["text"] == first["text"]
    again = CliRunner().invoke(app, ["data", "export", str(out), "--split", f"train={source}"])
    assert again.exit_code == 1 and "--force" in again.output
    bad = CliRunner().invoke(app, ["data", "export", str(tmp_path / "x"), "--split", "train"])
    assert bad.exit_code == 2 and "NAME=FILE" in bad.output


def test_train_takes_a_datasetdict_and_records_where_the_data_came_from(tmp_path: Path) -> None:
    from feedbackml.config import TrainConfig
    from feedbackml.data.hf import load_corpus
    from feedbackml.model import load_model
    from feedbackml.trainer import train

    corpus = load_corpus(
        {"train": [corpus_subset(tmp_path, "train", 150)], "dev": [corpus_subset(tmp_path, "dev", 60)]}
    )
    config = TrainConfig(kind="tfidf", out=tmp_path / "m", data={"train": ["/nonexistent.jsonl"], "dev": ["/no.jsonl"]})
    result = train(config, log=lambda _: None, progress=False, datasets=corpus)
    model = load_model(result.path)
    assert set(model.manifest["data"]) == {"<dataset:train>", "<dataset:dev>"}
    from_files = train(
        TrainConfig(
            kind="tfidf",
            out=tmp_path / "f",
            data={"train": [tmp_path / "train.jsonl"], "dev": [tmp_path / "dev.jsonl"]},
        ),
        log=lambda _: None,
        progress=False,
    )
    assert from_files.dev_metrics == result.dev_metrics  # the same records, whichever way they came


def test_a_bad_dataset_row_names_the_split_and_row(tmp_path: Path) -> None:
    from feedbackml.data.hf import records_of

    rows = datasets.Dataset.from_list(
        [
            {"id": "a", "text": "好", "barriers": [], "sentiment": "negative"},
            {"id": "b", "text": "好", "barriers": ["wrong"], "sentiment": "negative"},
        ]
    )
    with pytest.raises(InputError, match=r"^train:2: field 'barriers' has unknown label 'wrong'"):
        records_of(rows, "train")
