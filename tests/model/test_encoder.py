from __future__ import annotations

from pathlib import Path

import numpy as np

from feedbackml.labels import CAUSES
from feedbackml.model import Calibration
from feedbackml.model.classifier import PieceLogits, roll_up
from feedbackml.model.encoder import blend


def _logits(barriers: list[list[float]], sentiment: list[list[float]], pieces: list[list[str]]) -> PieceLogits:
    return PieceLogits(pieces, np.array(barriers), np.array(sentiment), np.zeros((len(barriers), len(CAUSES))))


def test_blend_weighs_the_logits_and_marks_where_the_members_disagree() -> None:
    own = _logits([[2.0, -2.0, -2.0], [-2.0, -2.0, -2.0]], [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]], [["a"], ["b"]])
    other = _logits([[1.0, -1.0, -1.0], [-2.0, 3.0, -2.0]], [[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]], [["a"], ["b"]])
    half = np.full(3, 0.5)
    assert np.array_equal(blend(own, other, 0.0, half).barriers, own.barriers)
    assert np.array_equal(blend(own, other, 1.0, half).sentiment, other.sentiment)
    mixed = blend(own, other, 0.25, half)
    assert np.allclose(mixed.barriers, 0.75 * own.barriers + 0.25 * other.barriers)
    assert mixed.disagree is not None and mixed.disagree.tolist() == [False, True]  # objective alone by other
    # the other member decides at its own calibrated thresholds: at 0.9 for subjective, logit 1.0 is "no"
    assert blend(own, other, 0.25, np.array([0.9, 0.5, 0.5])).disagree.tolist() == [True, True]


def test_disagreement_rolls_up_to_the_comment_and_is_flagged_for_review() -> None:
    own = _logits([[3.0, -3.0, -3.0]] * 3, [[3.0, 0.0, 0.0]] * 3, [["a", "b"], ["c"]])
    other = _logits([[3.0, -3.0, -3.0], [3.0, 3.0, -3.0], [3.0, -3.0, -3.0]], [[3.0, 0.0, 0.0]] * 3, [["a"]] * 3)
    probs = roll_up(blend(own, other, 0.2, np.full(3, 0.5)))
    assert probs.disagree is not None and probs.disagree.tolist() == [True, False]
    review = Calibration().needs_review(probs.barriers, probs.sentiment, probs.disagree)
    assert review.tolist() == [True, False]  # confident (far from every threshold) but unstable
    assert roll_up(own).disagree is None


def test_a_blended_model_keeps_its_companion_through_the_folder(tiny_base: Path, tmp_path: Path) -> None:
    from feedbackml.model import TfidfClassifier, load_model
    from tests.conftest import quiet_train, tiny_config

    folder = quiet_train(tiny_config(tiny_base, tmp_path, companion_weight=0.4))
    model = load_model(folder)
    assert model.companion_weight == 0.4 and isinstance(model.companion, TfidfClassifier)
    texts = ["采购部门总是推诿扯皮", "食堂的饭菜不错"]
    blended = model.probabilities(texts)
    assert blended.disagree is not None
    model.companion = None  # the encoder alone answers differently: the companion is really used
    assert not np.allclose(model.probabilities(texts).barriers, blended.barriers)


def test_the_companion_share_is_chosen_on_dev_and_shown_on_the_card(tiny_base: Path, tmp_path: Path) -> None:
    import json

    from feedbackml.calibrate import BLEND_WEIGHTS
    from tests.conftest import quiet_train, tiny_config

    folder = quiet_train(tiny_config(tiny_base, tmp_path))  # companion_weight unset: chosen on dev
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    candidates = config["meta"]["base_model"]["companion_weights_dev"]
    assert [float(w) for w in candidates] == list(BLEND_WEIGHTS)
    best = max(candidates.values())
    assert config["companion_weight"] == min(float(w) for w, score in candidates.items() if score == best)
    assert config["meta"]["companion_weight"] == config["companion_weight"]
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "## Blend with the TF-IDF baseline" in card and f"w = **{config['companion_weight']:g}**" in card
