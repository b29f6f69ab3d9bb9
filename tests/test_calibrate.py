from __future__ import annotations

from pathlib import Path

import numpy as np

from feedbackml.calibrate import LabelledTexts, cause_thresholds
from feedbackml.data.records import load_labelled
from feedbackml.labels import CAUSES
from tests.conftest import quiet_train, tiny_config


def test_cause_rows_are_records_with_cause_labels_whose_barrier_holds(tmp_path: Path) -> None:
    from feedbackml.data.records import LabelledRecord

    gold = LabelledTexts.of(
        [
            LabelledRecord("a", "x", ("objective",), "negative", causes=("process",)),
            LabelledRecord("b", "y", ("subjective",), "negative", causes=("unwilling",)),
            LabelledRecord("c", "z", ("objective",), "negative"),  # no cause labels
        ]
    )
    assert gold.cause_rows("process").tolist() == [True, False, False]
    assert gold.cause_rows("unwilling").tolist() == [False, True, False]
    probs = np.full((3, len(CAUSES)), 0.2)
    probs[0, CAUSES.index("process")] = 0.8
    found = cause_thresholds(probs, gold, tune=True)
    assert set(found) == set(CAUSES) and 0.2 < found["process"] <= 0.8
    assert cause_thresholds(np.zeros((3, 0)), gold, tune=True) == {}  # a model without a cause head


def test_without_cause_loss_the_encoder_has_no_cause_head(tiny_base: Path, tmp_path: Path) -> None:
    from feedbackml.model import load_model

    model = load_model(quiet_train(tiny_config(tiny_base, tmp_path, cause_loss_weight=0)))
    prediction = model.predict("采购部总说与我无关")
    assert prediction.causes == () and prediction.cause_probs == {}
    assert model.calibration.cause_thresholds == {}
    # evaluated on data that carries causes, such a model reports no cause figures (rather than an F1 of 0)
    from feedbackml.evaluate import build_report

    report = build_report(model, load_labelled([tmp_path / "dev.jsonl"]), resamples=100)
    assert "causes" not in report


def test_tfidf_learns_causes_from_the_corpus(tmp_path: Path) -> None:
    from feedbackml.config import TrainConfig
    from feedbackml.model import load_model
    from tests.conftest import corpus_subset

    config = TrainConfig(
        kind="tfidf",
        out=tmp_path / "m",
        data={"train": [corpus_subset(tmp_path, "train", 600)], "dev": [corpus_subset(tmp_path, "dev", 200)]},
    )
    model = load_model(quiet_train(config))
    assert set(model.calibration.cause_thresholds) == set(CAUSES)
    dev = load_labelled([tmp_path / "dev.jsonl"])
    assert any(r.causes for r in dev)
