"""The corpus as a typed Hugging Face ``DatasetDict`` (``datasets`` is optional: ``pip install 'feedbackml[hf]'``).

Barriers and causes are ``Sequence(ClassLabel)``, sentiment a ``ClassLabel``, so a data scientist gets label
names and ids from the features instead of from this package. ``records_of`` turns a dataset back into the
records ``train`` reads, so ``train(config, datasets=…)`` learns from exactly what a file would have given.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from feedbackml.data.records import Columns, LabelledRecord, Problem, load_labelled, parse_record
from feedbackml.io import InputError, Row
from feedbackml.labels import BARRIERS, CAUSES, SENTIMENTS

SPLITS = ("train", "dev", "test", "ood")
STRING_FIELDS = ("source", "department", "slice", "pair")


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise ImportError(
            "the Hugging Face export needs the 'datasets' package (pip install 'feedbackml[hf]')"
        ) from None
    return datasets


def features() -> Any:
    """The corpus schema as ``datasets.Features`` (causes ``None``: the record was not labelled with causes)."""
    datasets = _datasets()
    return datasets.Features(
        {
            "id": datasets.Value("string"),
            "text": datasets.Value("string"),
            "barriers": datasets.Sequence(datasets.ClassLabel(names=list(BARRIERS))),
            "causes": datasets.Sequence(datasets.ClassLabel(names=list(CAUSES))),
            "sentiment": datasets.ClassLabel(names=list(SENTIMENTS)),
            "about": datasets.Sequence(datasets.Value("string")),
            **{name: datasets.Value("string") for name in STRING_FIELDS},
        }
    )


def to_dataset(records: Sequence[LabelledRecord]) -> Any:
    """One split as a ``datasets.Dataset`` with the typed features."""
    datasets = _datasets()
    rows = {
        "id": [r.id for r in records],
        "text": [r.text for r in records],
        "barriers": [[BARRIERS.index(b) for b in r.barriers] for r in records],
        "causes": [None if r.causes is None else [CAUSES.index(c) for c in r.causes] for r in records],
        "sentiment": [SENTIMENTS.index(r.sentiment) for r in records],
        "about": [list(r.about) for r in records],
        **{name: [getattr(r, name) for r in records] for name in STRING_FIELDS},
    }
    return datasets.Dataset.from_dict(rows, features=features())


def load_corpus(files: dict[str, Sequence[str | os.PathLike[str]]] | None = None, root: Path | None = None) -> Any:
    """The labelled splits as a ``DatasetDict``: by default every ``data/labelled/<split>.jsonl`` under ``root``
    (the repository) and the OOD set as ``ood``, or the files given per split."""
    datasets = _datasets()
    if files is None:
        data = (root or Path.cwd()) / "data"
        folder = data / "labelled"
        files = {split: [folder / f"{split}.jsonl"] for split in SPLITS if (folder / f"{split}.jsonl").is_file()}
        if (data / "ood" / "test.jsonl").is_file():
            files["ood"] = [data / "ood" / "test.jsonl"]  # the held-out set: evaluation only, never training
        if not files:
            raise InputError(folder, "holds no <split>.jsonl (expected data/labelled/train.jsonl and friends)")
    return datasets.DatasetDict({split: to_dataset(load_labelled(paths)) for split, paths in files.items()})


def records_of(dataset: Any, name: str = "dataset") -> list[LabelledRecord]:
    """A dataset's rows as checked records (label ids or names both read); a bad row is an ``InputError`` naming
    the split and row, as a file's would be."""
    names = {
        "barriers": list(BARRIERS),
        "causes": list(CAUSES),
        "sentiment": list(SENTIMENTS),
    }
    records = []
    for index, row in enumerate(dataset, start=1):
        data = dict(row)
        for field in ("barriers", "causes"):
            if isinstance(data.get(field), list):
                data[field] = [names[field][v] if isinstance(v, int) else v for v in data[field]]
        if isinstance(data.get("sentiment"), int):
            data["sentiment"] = SENTIMENTS[data["sentiment"]]
        record, problems = parse_record(Row(name, index, data), Columns())
        if problems:
            first: Problem = problems[0]
            raise InputError(name, first.message, line=index)
        records.append(record)
    return records  # type: ignore[return-value]


def fingerprint(dataset: Any, name: str) -> dict[str, str]:
    """What the manifest records for data given as a dataset: a hash of its rows (as files get theirs)."""
    digest = hashlib.sha256()
    for row in dataset:
        digest.update(json.dumps(row, ensure_ascii=False, sort_keys=True, default=str).encode())
    return {f"<dataset:{name}>": digest.hexdigest()}


def export_hf(out: str | os.PathLike[str], files: dict[str, Iterable[str | os.PathLike[str]]] | None = None) -> Any:
    """Write the splits (``load_corpus``'s default when ``files`` is None) with ``save_to_disk``
    (``datasets.load_from_disk(out)`` reads them back)."""
    corpus = load_corpus(None if files is None else {split: list(paths) for split, paths in files.items()})
    corpus.save_to_disk(str(out))
    return corpus


def train_and_dev(datasets: Any) -> tuple[list[LabelledRecord], list[LabelledRecord], dict[str, str]]:
    """The train and dev records of a ``DatasetDict`` (or mapping) and what the manifest records of them."""
    missing = [split for split in ("train", "dev") if split not in datasets]
    if missing:
        raise ValueError(f"datasets has no {' or '.join(missing)} split (expected 'train' and 'dev')")
    train_set, dev_set = datasets["train"], datasets["dev"]
    data = {**fingerprint(train_set, "train"), **fingerprint(dev_set, "dev")}
    return records_of(train_set, "train"), records_of(dev_set, "dev"), data
