"""Guards the committed corpus: it must stay valid, leak-free between splits and within the agreed label mix."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedbackml.data.validate import summarize, validate_files
from feedbackml.labels import BARRIERS, SENTIMENTS

LABELLED = Path(__file__).resolve().parents[2] / "data" / "labelled"
SPLITS = [LABELLED / f"{name}.jsonl" for name in ("train", "dev", "test")]
OOD = LABELLED.parent / "ood" / "test.jsonl"
# corpus v2 (issue 11): the least each slice holds
SLICE_MINIMUM = {
    "hard_negative": 1500,
    "sentiment_boundary": 800,
    "short_bare": 800,
    "barrier_boundary": 800,
    "contrastive": 400,
}


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return validate_files(SPLITS)


def test_corpus_is_valid_and_leak_free(report) -> None:  # type: ignore[no-untyped-def]
    assert report.ok, "\n".join(str(p) for p in report.errors[:20])


def test_ood_set_is_valid_and_shares_no_text_with_the_corpus() -> None:
    together = validate_files([*SPLITS, OOD])
    assert together.ok, "\n".join(str(p) for p in together.errors[:20])
    assert sum(r.path == str(OOD) for r in together.records) >= 600


def test_label_mix(report) -> None:  # type: ignore[no-untyped-def]
    summary = summarize(report.records)
    n = summary["n"]
    assert n >= 8000
    # hard negatives raise the no-barrier share on purpose (the model tagged barriers where there were none)
    assert 0.25 <= summary["no_barrier"] / n <= 0.45
    for label in BARRIERS:
        assert summary["barriers"][label] / n >= 0.15, label
    assert summary["multi_barrier"] / n >= 0.08
    for label in SENTIMENTS:
        assert summary["sentiment"][label] / n >= 0.15, label
    assert summary["with_causes"] == n
    for code, count in summary["causes"].items():
        assert count / n >= 0.02, code
    for name, least in SLICE_MINIMUM.items():
        assert summary["slices"].get(name, 0) >= least, name


def test_split_proportions(report) -> None:  # type: ignore[no-untyped-def]
    sizes = {Path(path).stem: sum(r.path == path for r in report.records) for path in report.files}
    total = sum(sizes.values())
    assert abs(sizes["train"] / total - 0.70) < 0.02
    assert abs(sizes["dev"] / total - 0.15) < 0.02
    assert abs(sizes["test"] / total - 0.15) < 0.02


def test_lengths_and_sources_are_varied(report) -> None:  # type: ignore[no-untyped-def]
    summary = summarize(report.records)
    assert summary["length"]["min"] <= 3 and summary["length"]["max"] >= 200
    assert len(summary["sources"]) >= 6
