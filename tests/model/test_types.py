from __future__ import annotations

import numpy as np

from feedbackml.labels import BARRIER_OF_CAUSE, CAUSES
from feedbackml.model import Calibration


def test_causes_are_decided_only_under_predicted_barriers_and_never_missing() -> None:
    calibration = Calibration(cause_thresholds=dict.fromkeys(CAUSES, 0.5))
    probs = np.full((3, len(CAUSES)), 0.1)
    probs[0, CAUSES.index("process")] = 0.9  # objective cause over its threshold
    probs[0, CAUSES.index("unwilling")] = 0.9  # subjective cause, but subjective is not predicted
    probs[1, CAUSES.index("absent")] = 0.3  # role barrier predicted, no cause over threshold: argmax is taken
    barriers = np.array([[False, True, False], [False, False, True], [False, False, False]])
    chosen = calibration.decide_causes(probs, barriers)
    names = [[code for column, code in enumerate(CAUSES) if chosen[row, column]] for row in range(3)]
    assert names == [["process"], ["absent"], []]
    for row, codes in enumerate(names):
        for code in codes:
            assert barriers[row, ("subjective", "objective", "role_misalignment").index(BARRIER_OF_CAUSE[code])]


def test_a_model_without_causes_decides_none_and_old_calibrations_load() -> None:
    barriers = np.array([[True, True, True]])
    assert not Calibration().decide_causes(np.zeros((1, 0)), barriers).any()
    old = Calibration.from_json(
        {
            "thresholds": dict.fromkeys(("subjective", "objective", "role_misalignment"), 0.5),
            "temperature": 1.0,
            "barrier_margin": 0.0,
            "sentiment_min_confidence": 0.0,
        }
    )
    assert old.cause_thresholds == {}
