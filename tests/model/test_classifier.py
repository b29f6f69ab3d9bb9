from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from feedbackml.artifacts import ModelFolderError
from feedbackml.model import Calibration, Prediction, load_model
from feedbackml.model.batching import length_batches, pad_batch, split_to_fit
from tests.conftest import corpus_subset


def test_split_to_fit_respects_limit_and_keeps_text() -> None:
    text = "第一句话很长很长。第二句也不短！第三句,有逗号,还有更多内容" * 3
    pieces = split_to_fit(text, lambda piece: len(piece) <= 20)
    assert "".join(pieces) == text
    assert all(len(piece) <= 20 for piece in pieces)
    assert split_to_fit("短", lambda piece: len(piece) <= 20) == ["短"]


def test_predict_same_arity_and_valid_output(tiny_model: Path) -> None:
    model = load_model(tiny_model)
    single = model.predict("采购部推说与我无关")
    assert isinstance(single, Prediction)
    batch = model.predict(["审批太慢", "谢谢IT", "流程没写清楚谁负责"])
    assert isinstance(batch, list) and len(batch) == 3
    for prediction in [single, *batch]:
        assert set(prediction.barrier_probs) == {"subjective", "objective", "role_misalignment"}
        assert abs(sum(prediction.sentiment_probs.values()) - 1) < 1e-3
        assert prediction.sentiment in prediction.sentiment_probs
        json.dumps(prediction.to_json(), ensure_ascii=False)
    assert model.predict([]) == []


def test_order_is_restored_after_length_sorting(tiny_model: Path) -> None:
    model = load_model(tiny_model)
    texts = ["很长的一条评论" * 6, "短", "中等长度的评论文本"]
    together = model.predict(texts)
    alone = [model.predict(text) for text in texts]
    for a, b in zip(together, alone, strict=True):
        assert a.barrier_probs == pytest.approx(b.barrier_probs, abs=1e-3)


def test_long_text_is_split_not_truncated(tiny_model: Path) -> None:
    model = load_model(tiny_model)
    long_text = "采购部门总是推说与我无关,流程也没有写清楚。" * 12
    prediction = model.predict(long_text)
    assert prediction.split
    assert not model.predict("短评论").split


def test_evidence_offsets_point_into_the_input(tiny_model: Path) -> None:
    model = load_model(tiny_model)
    model.calibration = Calibration(thresholds=dict.fromkeys(("subjective", "objective", "role_misalignment"), 0.0))
    text = "  采购部  总是推诿扯皮,ＩＴ系统也不通!"
    prediction = model.predict(text, evidence=True)
    assert prediction.evidence, "occlusion found no evidence at all"
    for item in prediction.evidence:
        assert text[item.start : item.end] == item.word
        assert item.weight > 0
        assert item.label in (*prediction.barriers, prediction.sentiment)


def test_tampered_or_unlisted_files_are_refused(tiny_model: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_model, copy)
    load_model(copy)
    (copy / "extra.bin").write_bytes(b"\x80\x04pickle")
    with pytest.raises(ModelFolderError, match="not in the manifest"):
        load_model(copy)
    (copy / "extra.bin").unlink()
    heads = copy / "heads.safetensors"
    heads.write_bytes(heads.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(ModelFolderError, match="does not match its sha256"):
        load_model(copy)
    with pytest.raises(ModelFolderError, match="no such model folder"):
        load_model(tmp_path / "nowhere")


def test_encoder_folder_carries_its_baseline(tiny_model: Path, tmp_path: Path) -> None:
    from feedbackml.data.records import load_labelled
    from feedbackml.evaluate import evaluate
    from feedbackml.model import load_baseline

    baseline = load_baseline(tiny_model)
    assert baseline is not None and baseline.kind == "tfidf"
    records = load_labelled([corpus_subset(tmp_path, "test", 60)])
    report = evaluate(load_model(tiny_model), records, tmp_path / "eval", resamples=100, baseline=baseline)
    row = report["versus_baseline"]["barriers.macro_f1"]
    assert set(row) == {"a", "b", "difference", "p_value"}
    assert "Beside the TF-IDF baseline" in (tmp_path / "eval" / "report.md").read_text(encoding="utf-8")


def test_calibration_needs_review() -> None:
    calibration = Calibration(barrier_margin=0.1, sentiment_min_confidence=0.6)
    barrier = np.array([[0.9, 0.1, 0.1], [0.55, 0.1, 0.1], [0.9, 0.1, 0.1]])
    sentiment = np.array([[0.8, 0.1, 0.1], [0.8, 0.1, 0.1], [0.4, 0.3, 0.3]])
    assert calibration.needs_review(barrier, sentiment).tolist() == [False, True, True]


def test_uncertainty_grades_the_closest_call_and_ranks_disagreement_first() -> None:
    calibration = Calibration(thresholds={"subjective": 0.4, "objective": 0.5, "role_misalignment": 0.5})
    barrier = np.array(
        [[0.99, 0.01, 0.01], [0.4, 0.01, 0.01], [0.7, 0.01, 0.01], [0.99, 0.01, 0.01], [0.99, 0.01, 0.01]]
    )
    sure = [0.98, 0.01, 0.01]
    sentiment = np.array([sure, sure, sure, [0.45, 0.45, 0.1], sure])
    score = calibration.uncertainty(barrier, sentiment)
    assert score[1] == 1.0 and score[3] == 1.0  # a barrier on its threshold; two sentiments tied
    assert score[0] < 0.1 and 0.4 < score[2] < 0.6  # 0.7 is half way from 0.4 to 1
    assert ((score >= 0) & (score <= 1)).all()
    ranked = calibration.uncertainty(barrier, sentiment, np.array([False, False, False, False, True]))
    assert ranked[4] > max(ranked[:4]) >= 0.5 and ranked[4] >= 0.5  # confident but unstable comes first


def test_length_batches_sort_and_bound_padding() -> None:
    lengths = [5, 5, 5, 6, 7, 20, 21, 22, 100, 3]
    batches = length_batches(lengths, 4)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 4
        widths = [lengths[i] for i in batch]
        assert widths == sorted(widths)
        if len(batch) > 1:  # padding to the batch's longest adds at most a quarter of its real tokens
            assert len(batch) * max(widths) <= 1.25 * sum(widths)
    assert [lengths[i] for i in batches[-1]] == [100]  # the long one is not allowed to pad the others


def test_pad_batch_pads_and_masks() -> None:
    input_ids, mask = pad_batch([[5, 6, 7], [8]], pad_id=0)
    assert input_ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert input_ids.dtype == np.int64 and mask.dtype == np.int64


def test_prediction_json_round_trip(tiny_model: Path) -> None:
    model = load_model(tiny_model)
    model.calibration = Calibration(thresholds=dict.fromkeys(("subjective", "objective", "role_misalignment"), 0.0))
    prediction = model.predict("采购部总是推诿扯皮,IT系统也不通", evidence=True)
    assert Prediction.from_json(json.loads(json.dumps(prediction.to_json()))) == prediction


def test_coarse_to_fine_evidence_picks_words_of_the_comment(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The tiny model is barely trained: its occlusion drops can all fall below the weight floor, so keep every word.
    monkeypatch.setattr("feedbackml.model.evidence.MIN_EVIDENCE_WEIGHT", -1.0)
    model = load_model(tiny_model, runtime="torch")
    model.calibration = Calibration(thresholds=dict.fromkeys(("subjective", "objective", "role_misalignment"), 0.0))
    text = "采购部总是推诿扯皮,说与我无关。IT系统也不通,审批流程太长,问三遍才回,对接人爱答不理。"
    probs = model.probabilities([text])
    barrier_probs, sentiment_probs = probs.barriers, probs.sentiment
    labels = [(("subjective", "objective", "role_misalignment"), "negative")]
    exhaustive = model.evidence_many([text], labels, barrier_probs, sentiment_probs)[0]
    coarse = model.evidence_many([text], labels, barrier_probs, sentiment_probs, exhaustive_words=4)[0]
    assert coarse, "coarse-to-fine occlusion found no evidence at all"
    for item in coarse:
        assert text[item.start : item.end] == item.word
    # a word's weight is its own occlusion drop, however it was found
    weights = {(e.word, e.start, e.label): e.weight for e in exhaustive}
    shared = [item for item in coarse if (item.word, item.start, item.label) in weights]
    assert shared, "coarse-to-fine kept none of the words that word-by-word occlusion ranks"
    for item in shared:
        assert item.weight == pytest.approx(weights[(item.word, item.start, item.label)], abs=1e-3)


def test_predictions_carry_causes_under_their_barriers(tiny_model: Path) -> None:
    from feedbackml.labels import BARRIER_OF_CAUSE, CAUSES

    model = load_model(tiny_model, runtime="torch")
    assert set(model.calibration.cause_thresholds) == set(CAUSES)  # the corpus carries causes, so the head exists
    for prediction in model.predict(["采购部总说与我无关,流程也没人管", "谢谢IT", "审批要五个章"]):
        assert set(prediction.cause_probs) == set(CAUSES)
        assert {BARRIER_OF_CAUSE[code] for code in prediction.causes} == set(prediction.barriers)


def test_evidence_covers_predicted_causes_from_the_same_passes(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each predicted cause gets its own words (labelled with the cause code), read off the variants already
    scored for the barriers: no extra pass."""
    from feedbackml.labels import CAUSES

    monkeypatch.setattr("feedbackml.model.evidence.MIN_EVIDENCE_WEIGHT", -1.0)
    model = load_model(tiny_model, runtime="torch")
    model.calibration = Calibration(
        thresholds=dict.fromkeys(("subjective", "objective", "role_misalignment"), 0.0),
        cause_thresholds=dict.fromkeys(CAUSES, 0.0),
    )
    calls: list[int] = []
    scorer = model.probabilities
    monkeypatch.setattr(model, "probabilities", lambda texts: calls.append(len(texts)) or scorer(texts))
    text = "采购部总是推诿扯皮,IT系统也不通,审批流程太长。"
    prediction = model.predict(text, evidence=True)
    assert prediction.causes and len(calls) == 2  # the comment, then all its variants at once
    cause_items = [item for item in prediction.evidence if item.label in CAUSES]
    assert {item.label for item in cause_items} == set(prediction.causes)
    for item in cause_items:
        assert text[item.start : item.end] == item.word
