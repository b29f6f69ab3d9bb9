from __future__ import annotations

from pathlib import Path

import pytest

from feedbackml.config import TrainConfig
from feedbackml.model import load_model
from feedbackml.trainer import train
from tests.conftest import LABELLED


@pytest.fixture(scope="module")
def tfidf_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tfidf") / "model"
    config = TrainConfig(
        kind="tfidf", out=out, data={"train": [LABELLED / "train.jsonl"], "dev": [LABELLED / "dev.jsonl"]}
    )
    return train(config, log=lambda _: None).path


def test_tfidf_learns_something(tfidf_model: Path) -> None:
    """Scored afresh on the test split, which training never saw (not the trainer's own dev figures)."""
    from feedbackml.data.records import load_labelled
    from feedbackml.labels import label_arrays
    from feedbackml.metrics import run_scores

    model = load_model(tfidf_model)
    records = load_labelled([LABELLED / "test.jsonl"])
    probs = model.probabilities([r.text for r in records])
    scores = run_scores(*label_arrays(records), *model.calibration.decide(probs.barriers, probs.sentiment))
    assert scores["barriers"]["macro_f1"] > 0.5
    assert scores["sentiment"]["macro_f1"] > 0.5


def test_tfidf_roundtrip_without_pickle(tfidf_model: Path) -> None:
    files = sorted(p.name for p in tfidf_model.iterdir())
    assert files == ["README.md", "config.json", "manifest.json", "vocabulary.json", "weights.safetensors"]
    model = load_model(tfidf_model)
    prediction = model.predict("采购部门总是推诿,说与我无关", evidence=True)
    assert prediction.sentiment == "negative"
    again = load_model(tfidf_model).predict("采购部门总是推诿,说与我无关", evidence=True)
    assert prediction == again
