"""feedbackml: collaboration barriers, their causes and sentiment in Chinese employee feedback.

The names below are what the README uses; they are imported on first use, so ``import feedbackml`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from feedbackml.labels import BARRIERS, SENTIMENTS

__version__ = "0.1.0"

_EXPORTS = {
    "load_model": "feedbackml.model",
    "Prediction": "feedbackml.model",
    "train": "feedbackml.trainer",
    "TrainConfig": "feedbackml.config",
    "score": "feedbackml.scoring",
    "ScoreOptions": "feedbackml.scoring",
    "build_report": "feedbackml.report",
    "ReportOptions": "feedbackml.report",
}

if TYPE_CHECKING:
    from feedbackml.config import TrainConfig
    from feedbackml.model import Prediction, load_model
    from feedbackml.report import ReportOptions, build_report
    from feedbackml.scoring import ScoreOptions, score
    from feedbackml.trainer import train

__all__ = [
    "BARRIERS",
    "SENTIMENTS",
    "Prediction",
    "ReportOptions",
    "ScoreOptions",
    "TrainConfig",
    "__version__",
    "build_report",
    "load_model",
    "score",
    "train",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'feedbackml' has no attribute {name!r}")
